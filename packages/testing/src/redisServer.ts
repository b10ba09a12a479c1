import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Redis, type RedisOptions } from "ioredis"
import { freePort } from "./ports.js"

/** Resolves once a server on `port` answers PING (with the given TLS or credentials); rejects after 10 s. */
export const waitForRedis = async (port: number, options: RedisOptions = {}) => {
  const deadline = Date.now() + 10_000
  for (;;) {
    const client = new Redis({
      host: "127.0.0.1",
      port,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      ...options
    })
    client.on("error", () => {})
    try {
      await client.connect()
      await client.ping()
      return
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`)
      await new Promise((r) => setTimeout(r, 100))
    } finally {
      client.disconnect()
    }
  }
}

export interface RedisServer {
  readonly url: string
  readonly port: number
  /** SIGKILL: a crash (without persistence it comes back empty). */
  readonly kill: () => Promise<void>
  /** SHUTDOWN: a planned stop that writes the append-only file first. */
  readonly stop: () => Promise<void>
  /** SIGSTOP: connections stay open and commands are accepted, but nothing answers until `thaw`. */
  readonly freeze: () => void
  /** SIGCONT after `freeze`. */
  readonly thaw: () => void
  /** Starts it again after `kill` or `stop`, on the same port and folder. */
  readonly start: () => Promise<void>
  /** Stops (SIGKILL, or SHUTDOWN when `graceful`) and starts again on the same port and folder. */
  readonly restart: (options?: { readonly graceful?: boolean }) => Promise<void>
  readonly dispose: () => Promise<void>
}

/**
 * A throwaway redis-server from the machine's binary, on a free port with a folder of its own. `persistent`
 * turns on an append-only file fsync'd on every write, so a graceful restart keeps everything.
 */
export const startRedisServer = async (
  options: { readonly persistent?: boolean } = {}
): Promise<RedisServer> => {
  const port = await freePort()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-redis-"))
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""]
  args.push(
    ...(options.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"])
  )
  const launch = async () => {
    const child = spawn("redis-server", args, { stdio: "ignore" })
    child.on("error", () => {})
    await waitForRedis(port)
    return child
  }
  let child: ChildProcess = await launch()
  const exited = () => child.exitCode !== null || child.signalCode !== null
  const kill = () =>
    new Promise<void>((resolve) => {
      if (exited()) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGKILL")
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      if (exited()) return resolve()
      child.once("exit", () => resolve())
      const client = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 })
      client.on("error", () => {})
      client
        .connect()
        .then(() => client.shutdown().catch(() => {}))
        .catch(() => child.kill("SIGKILL"))
    })
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    stop,
    freeze: () => {
      child.kill("SIGSTOP")
    },
    thaw: () => {
      child.kill("SIGCONT")
    },
    start: async () => {
      if (exited()) child = await launch()
    },
    restart: async (restartOptions = {}) => {
      await (restartOptions.graceful ? stop() : kill())
      child = await launch()
    },
    dispose: async () => {
      await kill()
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
