import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import Pg from "pg"
import { freePort } from "./ports.js"

/*
 * A throwaway PostgreSQL cluster of its own, for tests that stop, kill and restart the server under load;
 * the machine's server is shared by every parallel test file and must never be touched. Uses the newest
 * server binaries Debian installed (/usr/lib/postgresql/N/bin), run as the `postgres` user when we are root
 * (initdb and postgres refuse to run as root).
 */

const binDir = (): string => {
  const root = "/usr/lib/postgresql"
  const versions = Fs.existsSync(root)
    ? Fs.readdirSync(root)
        .filter((name) => Fs.existsSync(Path.join(root, name, "bin", "postgres")))
        .sort((a, b) => Number(a) - Number(b))
    : []
  const newest = versions.at(-1)
  if (newest === undefined) throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql")
  return Path.join(root, newest, "bin")
}

const owner = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim())
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim())
  return { uid, gid }
}

const waitForPostgres = async (url: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = new Pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
    client.on("error", () => {})
    try {
      await client.connect()
      await client.query("select 1")
      return
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`private PostgreSQL did not start: ${String(error)}`)
      await new Promise((r) => setTimeout(r, 100))
    } finally {
      await client.end().catch(() => {})
    }
  }
}

export interface PostgresServer {
  /** The `postgres` database: create your own in it or use it directly. */
  readonly url: string
  readonly port: number
  /**
   * `fast` (SIGINT): sessions are ended, open transactions rolled back, as in a planned restart or failover.
   * `immediate` (SIGQUIT): every process quits at once and the next start runs crash recovery.
   */
  readonly stop: (mode?: "fast" | "immediate") => Promise<void>
  readonly start: () => Promise<void>
  readonly dispose: () => Promise<void>
}

export const startPostgresServer = async (): Promise<PostgresServer> => {
  const bin = binDir()
  const user = owner()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-pg-"))
  const data = Path.join(dir, "data")
  Fs.mkdirSync(data)
  if (user !== undefined) {
    Fs.chownSync(dir, user.uid, user.gid)
    Fs.chownSync(data, user.uid, user.gid)
  }
  execFileSync(Path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"], {
    stdio: "ignore",
    ...(user ?? {})
  })
  const port = await freePort()
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const args = [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "max_connections=100"
  ]
  let child: ChildProcess | null = null
  const exited = () => child === null || child.exitCode !== null || child.signalCode !== null
  const start = async () => {
    if (!exited()) return
    const launched = spawn(Path.join(bin, "postgres"), args, { stdio: "ignore", ...(user ?? {}) })
    launched.on("error", () => {})
    child = launched
    await waitForPostgres(url)
  }
  const signal = (name: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (exited()) return resolve()
      child!.once("exit", () => resolve())
      child!.kill(name)
    })
  await start()
  return {
    url,
    port,
    stop: (mode = "fast") => signal(mode === "fast" ? "SIGINT" : "SIGQUIT"),
    start,
    dispose: async () => {
      await signal("SIGINT")
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
