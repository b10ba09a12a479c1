import { execFileSync, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

/*
 * The import rules `pnpm lint` holds the server to (biome.json, written by scripts/layers.mjs). Each probe is a
 * file in a scratch copy of the layout, linted with the repository's own biome.json: the rule must refuse
 * an import that runs back up the layers, and let the allowed ones through.
 */

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const biome = Path.join(root, "node_modules/.bin/biome")
const scratch = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-layers-"))
const config = JSON.parse(Fs.readFileSync(Path.join(root, "biome.json"), "utf8"))
Fs.writeFileSync(
  Path.join(scratch, "biome.json"),
  JSON.stringify({ ...config, $schema: undefined, vcs: undefined, files: undefined })
)
afterAll(() => Fs.rmSync(scratch, { recursive: true, force: true }))

let probes = 0

/** The rule's message when `file` (under packages/server/src) imports `from`; null when it is allowed. */
const refusal = (file: string, from: string): string | null => {
  const dir = Path.join(scratch, `probe-${++probes}`)
  const path = Path.join(dir, "packages/server/src", file)
  Fs.mkdirSync(Path.dirname(path), { recursive: true })
  Fs.copyFileSync(Path.join(scratch, "biome.json"), Path.join(dir, "biome.json"))
  Fs.writeFileSync(path, `import { value } from "${from}"\n\nexport const probe = value\n`)
  const run = spawnSync(biome, ["lint", "--colors=off", "--max-diagnostics=5", "."], {
    cwd: dir,
    encoding: "utf8"
  })
  const output = `${run.stdout}${run.stderr}`
  if (!output.includes("noRestrictedImports")) {
    if (run.status !== 0) throw new Error(`biome failed for another reason:\n${output}`)
    return null
  }
  return /× (.+docs\/architecture\.md)/.exec(output)?.[1] ?? output
}

describe("layer rules", () => {
  it("biome.json is what scripts/layers.mjs writes", () => {
    expect(() => execFileSync("node", [Path.join(root, "scripts/layers.mjs"), "--check"])).not.toThrow()
  })

  it("refuse an import that runs back up the layers", () => {
    expect(refusal("Taps/Probe.ts", "../Http/HttpApp.js")).toMatch(/^the tap pipeline imports only/)
    expect(refusal("Config/Probe.ts", "../Campaigns/Campaigns.js")).toMatch(/^the platform imports only/)
    expect(refusal("Jobs/Probe.ts", "../Exports/ExportJob.js")).toMatch(/^the platform imports only/)
    expect(refusal("ReadModel/Probe.ts", "../Taps/TapQueue.js")).toMatch(/^the read model imports only/)
    expect(refusal("Redirect/Probe.ts", "../Campaigns/Campaigns.js")).toMatch(/^the hot path imports only/)
    expect(refusal("Campaigns/Probe.ts", "../Redirect/HotPath.js")).toMatch(/^a feature imports only/)
    // A feature's service may not reach HTTP; only its `*Handlers.ts` group may.
    expect(refusal("Campaigns/Probe.ts", "../Http/NoStore.js")).toMatch(/^a feature imports only/)
    expect(refusal("Webhooks/chat/Probe.ts", "../../Http/HttpApp.js")).toMatch(/^a feature imports only/)
    expect(refusal("Http/Probe.ts", "../Runtime.js")).toMatch(/never Runtime\.ts/)
  })

  it("govern a new folder from its first file: a feature, which the layers below may not import", () => {
    expect(refusal("Newfeature/Probe.ts", "../Http/HttpApp.js")).toMatch(/^a feature imports only/)
    expect(refusal("Config/Probe.ts", "../Newfeature/Thing.js")).toMatch(/^the platform imports only/)
    expect(refusal("Newfeature/Probe.ts", "../Taps/TapSink.js")).toBeNull()
  })

  it("let the allowed imports through", () => {
    expect(refusal("Campaigns/Probe.ts", "../Config/AppConfig.js")).toBeNull()
    expect(refusal("Campaigns/Probe.ts", "../Events/EventRepository.js")).toBeNull()
    expect(refusal("Campaigns/CampaignsHandlers.ts", "../Http/NoStore.js")).toBeNull()
    expect(refusal("Taps/Probe.ts", "../Outbox/Outbox.js")).toBeNull()
    expect(refusal("Redirect/Probe.ts", "../Taps/TapRecorder.js")).toBeNull()
    expect(refusal("Webhooks/chat/Probe.ts", "../Delivery.js")).toBeNull()
    expect(refusal("Http/Probe.ts", "../Redirect/HotPath.js")).toBeNull()
  })
})
