import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { createDatabase } from "./support/Peers.js"
import {
  type RunningServer,
  runCli,
  startServer,
  stopCleanly,
  waitUntilReady
} from "./support/ServerProcess.js"

/*
 * First run on the built server (issue 29): the ready banner names the console and the setup link, as
 * README's quick start shows it; the embedded server prints the link, a server on DATABASE_URL writes it to
 * an owner-only file instead; the token is never in a log line.
 */

const readmeLabels = () => {
  const readme = Fs.readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
  const block = /```\n( {2}Tapline is ready:\n[\s\S]*?)```/.exec(readme)?.[1] ?? ""
  return block
    .trimEnd()
    .split("\n")
    .map((line) => line.slice(0, 17))
}

/** The banner's lines once printed (it comes once the server is bound, maybe after readiness answers). */
const bannerOf = async (server: RunningServer) => {
  const deadline = Date.now() + 60_000
  for (;;) {
    const output = server.output()
    const start = output.indexOf("\n  Tapline is ready:\n")
    const end = start < 0 ? -1 : output.indexOf("\n\n", start + 1)
    if (end > 0) return output.slice(start + 1, end).split("\n")
    if (Date.now() > deadline) throw new Error(`no banner after 60 s:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const tokenOf = (text: string) => /#token=(tsu_[A-Za-z0-9_-]{43})/.exec(text)?.[1]

const optionsStatus = async (server: RunningServer, token: string) =>
  (
    await fetch(`${server.url}/api/v1/setup/registration-options`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, email: "first@example.com" })
    })
  ).status

/** Log lines are JSON objects; the banner is the only plain text. */
const logLines = (server: RunningServer) =>
  server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))

describe("first run", () => {
  it("embedded: the banner shows the console and the setup link, README's lines, and no log line has the token", async () => {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-firstrun-"))
    try {
      const server = await startServer({ TAPLINE_DATA_DIR: dataDir })
      await waitUntilReady(server, 120_000)
      const banner = await bannerOf(server)
      expect(banner.map((line) => line.slice(0, 17))).toEqual(readmeLabels())
      const base = `http://localhost:${server.port}`
      expect(banner).toContain(`    console      ${base}/console/`)
      const setupLine = banner.find((line) => line.startsWith("    setup link   "))!
      expect(setupLine).toMatch(new RegExp(`^    setup link   ${base}/setup#token=tsu_[A-Za-z0-9_-]{43}$`))
      const token = tokenOf(setupLine)!
      expect(logLines(server).length).toBeGreaterThan(0)
      expect(logLines(server).join("\n")).not.toContain(token)
      expect(Fs.existsSync(Path.join(dataDir, "setup-link"))).toBe(false)

      expect((await fetch(`${server.url}/setup`)).status).toBe(200)
      expect(await optionsStatus(server, token)).toBe(200)
      await stopCleanly(server)
    } finally {
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }, 240_000)

  it("on DATABASE_URL: the link goes to <data dir>/setup-link (0600), the banner names the file, the output never has the token", async () => {
    const database = await createDatabase()
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-firstrun-"))
    try {
      const server = await startServer({ DATABASE_URL: database.url, TAPLINE_DATA_DIR: dataDir })
      await waitUntilReady(server)
      const banner = await bannerOf(server)
      const file = Path.join(dataDir, "setup-link")
      expect(banner).toContain(`    setup link   in ${file} (owner-only; open it in a browser)`)
      expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
      const token = tokenOf(Fs.readFileSync(file, "utf8"))!
      expect(token).toBeDefined()
      expect(server.output()).not.toContain(token)
      expect(await optionsStatus(server, token)).toBe(200)

      // Once the first user exists, a restart makes no link, removes the file and shows no setup line.
      const boot = await runCli(["admin:bootstrap", "--email", "first@example.com"], {
        DATABASE_URL: database.url
      })
      expect(boot.code).toBe(0)
      expect(await optionsStatus(server, token)).toBe(410)
      await stopCleanly(server)
      const again = await startServer({ DATABASE_URL: database.url, TAPLINE_DATA_DIR: dataDir })
      await waitUntilReady(again)
      const after = await bannerOf(again)
      expect(after.some((line) => line.includes("setup link"))).toBe(false)
      expect(Fs.existsSync(file)).toBe(false)
      expect((await fetch(`${again.url}/setup`)).status).toBe(410)
      await stopCleanly(again)
    } finally {
      Fs.rmSync(dataDir, { recursive: true, force: true })
      await database.drop()
    }
  }, 240_000)
})
