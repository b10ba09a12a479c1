#!/usr/bin/env node
// The server's layers, and which may import which: the one table behind the import rules in biome.json.
// `node scripts/layers.mjs` writes biome.json's overrides from it; `--check` (part of `pnpm lint`) fails when
// biome.json says something else, or when a folder of packages/server/src belongs to no layer on purpose.
//
// Each rule is an allow-list: a file may import from the folders its layer may use and nothing else. A new
// folder is a feature until it is named below, so it is governed from its first commit; a folder a layer may
// not import stays refused until the table says otherwise. See docs/architecture.md.
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const SRC = "packages/server/src"

/** Named folders; every other folder of SRC is a feature. */
const LAYERS = {
  platform: [
    "Ai",
    "Brokers",
    "Cache",
    "Config",
    "Crypto",
    "Database",
    "Email",
    "Embedded",
    "Jobs",
    "Net",
    "Outbound",
    "Push",
    "Quotas",
    "Redis",
    "Sms",
    "Storage",
    "Telemetry"
  ],
  "read model": ["ReadModel"],
  "tap pipeline": ["Outbox", "Taps"],
  "hot path": ["Redirect"],
  http: ["Http"]
}

/** What each layer may import, besides its own folder. `features` is every folder no layer names. */
const MAY_IMPORT = {
  platform: ["platform"],
  "read model": ["platform"],
  "tap pipeline": ["platform", "read model", "tap pipeline"],
  "hot path": ["platform", "read model", "tap pipeline"],
  features: ["platform", "read model", "tap pipeline", "features"],
  // HTTP: the server, its guards and pages, and every feature's `*Handlers.ts` group.
  http: ["platform", "read model", "tap pipeline", "hot path", "features", "http"]
}

const folders = Fs.readdirSync(Path.join(root, SRC), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

const named = new Set(Object.values(LAYERS).flat())
const features = folders.filter((folder) => !named.has(folder))
const foldersOf = (layer) => (layer === "features" ? features : LAYERS[layer])

const allowed = (layer) => [...new Set(MAY_IMPORT[layer].flatMap(foldersOf))].sort()

const message = (layer) => {
  const others = MAY_IMPORT[layer].filter((l) => l !== layer)
  const who = { http: "HTTP (Http/ and each *Handlers.ts)", features: "a feature" }[layer] ?? `the ${layer}`
  const may = [...others, layer === "features" ? "other features" : "itself"].join(", ")
  return `${who} imports only ${may}; never Runtime.ts or index.ts: docs/architecture.md`
}

/** One override: files at `depth` folders below SRC refuse every parent-relative import but the allowed. */
const rule = (includes, layer, depth) => {
  const up = "../".repeat(depth)
  return {
    includes,
    linter: {
      rules: {
        style: {
          noRestrictedImports: {
            level: "error",
            options: {
              patterns: [
                {
                  group: [`${up}**`, ...allowed(layer).map((folder) => `!${up}${folder}/**`)],
                  message: message(layer)
                }
              ]
            }
          }
        }
      }
    }
  }
}

const at = (folder, depth) => (depth === 1 ? `${SRC}/${folder}/*.ts` : `${SRC}/${folder}/*/*.ts`)

// Later overrides win: the features default first, then the named layers, then every feature's HTTP group.
const overrides = [1, 2].flatMap((depth) => [
  rule([at("*", depth)], "features", depth),
  ...Object.entries(LAYERS).map(([layer, names]) =>
    rule(
      names.map((f) => at(f, depth)),
      layer,
      depth
    )
  ),
  rule([depth === 1 ? `${SRC}/*/*Handlers.ts` : `${SRC}/*/*/*Handlers.ts`], "http", depth)
])

const biomeFile = Path.join(root, "biome.json")
const biome = JSON.parse(Fs.readFileSync(biomeFile, "utf8"))
const wanted = { ...biome, overrides }

if (process.argv.includes("--check")) {
  if (JSON.stringify(biome.overrides) !== JSON.stringify(overrides)) {
    console.error("biome.json's import rules differ from scripts/layers.mjs: run `node scripts/layers.mjs`")
    process.exit(1)
  }
  const deepest = Fs.readdirSync(Path.join(root, SRC), { recursive: true })
    .filter((file) => /\.tsx?$/.test(file))
    .filter((file) => file.split(Path.sep).length > 3)
  if (deepest.length > 0) {
    console.error(`files three folders deep have no import rule: ${deepest.join(", ")}`)
    process.exit(1)
  }
} else {
  Fs.writeFileSync(biomeFile, `${JSON.stringify(wanted, null, 2)}\n`)
  execFileSync(Path.join(root, "node_modules/.bin/biome"), ["format", "--write", biomeFile], {
    stdio: "ignore"
  })
  console.log(`biome.json: ${overrides.length} import rules; features: ${features.join(", ")}`)
}
