import { generateKeyPairSync } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { ReportSignature } from "@tapline/server"
import { describe, expect, it } from "vitest"
import { runCliInProcess } from "./support/CliInProcess.js"
import { runCli } from "./support/ServerProcess.js"

/*
 * `tapline report:verify FILE --key KEYS` (issue 35): offline, with no server and no configuration. The built
 * binary once (the exit code a sponsor's script sees), the other cases in-process.
 */

const keyPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519")
  return { privateKey, publicPem: String(publicKey.export({ type: "spki", format: "pem" })) }
}

describe("tapline report:verify", () => {
  it("exits 0 on a valid report, 1 on an edited one or another key's, 2 on an unreadable file", async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-verify-"))
    try {
      const signer = keyPair()
      const keyId = ReportSignature.keyIdOf(signer.privateKey)
      const report = {
        format: "tapline.report/1",
        id: "0190a1b2-0000-7000-8000-000000000001",
        figures: { taps: 1234, uniqueBands: 321, excluded: { botTaps: 5, duplicateTaps: 7 } },
        range: { from: "2026-06-06T10:00:00.000Z", to: "2026-06-06T22:00:00.000Z" },
        authenticity: null
      }
      const signed = {
        report,
        algorithm: "Ed25519",
        keyId,
        signature: ReportSignature.signReport(signer.privateKey, report)
      }
      const file = (name: string, text: string) => {
        const path = Path.join(dir, name)
        Fs.writeFileSync(path, text)
        return path
      }
      const valid = file("report.json", JSON.stringify(signed, null, 2))
      const pem = file("key.pem", signer.publicPem)
      const keysJson = file(
        "report-keys.json",
        JSON.stringify({
          keys: [
            {
              keyId: "ffffffffffffffff",
              algorithm: "Ed25519",
              publicKey: keyPair().publicPem,
              status: "active"
            },
            { keyId, algorithm: "Ed25519", publicKey: signer.publicPem, status: "retired" }
          ]
        })
      )

      // The binary: a valid report, with the PEM.
      const binary = await runCli(["report:verify", valid, "--key", pem], {})
      expect(binary.output.trim()).toBe(`valid (key ${keyId})`)
      expect(binary.code).toBe(0)

      // The keys document (the signer is a retired key there) verifies it too.
      const byDocument = await runCliInProcess(["report:verify", valid, "--key", keysJson], {})
      expect(byDocument).toEqual({ code: 0, output: `valid (key ${keyId})\n` })

      // One figure edited: exit 1, and why.
      const editedReport = { ...signed, report: { ...report, figures: { ...report.figures, taps: 1235 } } }
      const edited = file("edited.json", JSON.stringify(editedReport))
      const refused = await runCliInProcess(["report:verify", edited, "--key", pem], {})
      expect(refused.code).toBe(1)
      expect(refused.output).toContain("invalid: signature does not match the report")

      // Signed by a key the verifier was not given: exit 1, naming the key it needs.
      const stranger = file("stranger.pem", keyPair().publicPem)
      const wrongKey = await runCliInProcess(["report:verify", valid, "--key", stranger], {})
      expect(wrongKey.code).toBe(1)
      expect(wrongKey.output).toContain(`signed with key ${keyId}`)

      // Files that cannot be checked: exit 2.
      const notJson = await runCliInProcess(["report:verify", file("x.json", "{"), "--key", pem], {})
      expect(notJson.code).toBe(2)
      expect(notJson.output).toContain("is not JSON")
      const badKey = await runCliInProcess(["report:verify", valid, "--key", file("bad.pem", "hello")], {})
      expect(badKey.code).toBe(2)
      const missing = await runCliInProcess(["report:verify", Path.join(dir, "none.json"), "--key", pem], {})
      expect(missing.code).toBe(2)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
