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

/** Waits over the Unix socket, which stays open (trust) whatever pg_hba.conf asks of TCP clients. */
const waitForPostgres = async (socketDir: string, port: number, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = new Pg.Client({
      host: socketDir,
      port,
      user: "postgres",
      database: "postgres",
      connectionTimeoutMillis: 1000
    })
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
  /** A superuser client over the Unix socket (trust), for set-up a test's TCP rules would refuse. */
  readonly admin: () => Promise<Pg.Client>
}

export interface PostgresServerOptions {
  /** More `-c name=value` settings (e.g. `ssl=on`). */
  readonly settings?: ReadonlyArray<string>
  /** Files to write into the data directory before the first start (owned by the server, mode 0600). */
  readonly files?: Readonly<Record<string, string | Buffer>>
  /** More listen addresses than 127.0.0.1 (any 127.0.0.0/8 address works on Linux). */
  readonly listenAddresses?: ReadonlyArray<string>
}

export const startPostgresServer = async (options: PostgresServerOptions = {}): Promise<PostgresServer> => {
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
  for (const [name, content] of Object.entries(options.files ?? {})) {
    const file = Path.join(data, name)
    Fs.writeFileSync(file, content, { mode: 0o600 })
    if (user !== undefined) Fs.chownSync(file, user.uid, user.gid)
  }
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
    `listen_addresses=${["127.0.0.1", ...(options.listenAddresses ?? [])].join(",")}`,
    "-c",
    "fsync=off",
    "-c",
    "max_connections=100",
    ...(options.settings ?? []).flatMap((setting) => ["-c", setting])
  ]
  let child: ChildProcess | null = null
  const exited = () => child === null || child.exitCode !== null || child.signalCode !== null
  const start = async () => {
    if (!exited()) return
    const launched = spawn(Path.join(bin, "postgres"), args, { stdio: "ignore", ...(user ?? {}) })
    launched.on("error", () => {})
    child = launched
    await waitForPostgres(dir, port)
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
    admin: async () => {
      const client = new Pg.Client({ host: dir, port, user: "postgres", database: "postgres" })
      await client.connect()
      return client
    },
    dispose: async () => {
      await signal("SIGINT")
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
