import { Duration, Effect, Option, Redacted } from "effect"
import { Redis as RedisClient } from "ioredis"
import type { AppConfigShape } from "../../src/Config/AppConfig.js"
import { runId } from "./TestDatabase.js"

export const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"

let counter = 0

/** A key prefix no other test or run shares. */
export const uniquePrefix = (name: string) =>
  `tapline-test:${runId}:${process.pid}:${name}:${++counter}:${Math.random().toString(36).slice(2, 8)}:`

/** Removes every key under the prefix when the scope closes. */
export const cleanupPrefix = (url: string, prefix: string) =>
  Effect.addFinalizer(() =>
    Effect.promise(async () => {
      const client = new RedisClient(url)
      const stream = client.scanStream({ match: `${prefix}*`, count: 500 })
      for await (const keys of stream) if (keys.length > 0) await client.del(...keys)
      await client.quit()
    })
  )

export const redisConfig = (
  prefix: string,
  overrides: Partial<AppConfigShape["redis"]> = {}
): AppConfigShape["redis"] => ({
  url: Option.some(Redacted.make(redisUrl)),
  mode: "standalone",
  sentinels: [],
  sentinelMasterName: "mymaster",
  clusterNodes: [],
  username: Option.none(),
  password: Option.none(),
  tls: false,
  tlsCaFile: Option.none(),
  keyPrefix: prefix,
  connectTimeout: Duration.seconds(3),
  ...overrides
})

/** A private redis-server a test may kill and start again (empty, like a Redis without persistence). */
export const privateRedis = Effect.acquireRelease(
  Effect.promise(async () => {
    const { spawn } = await import("node:child_process")
    const Net = await import("node:net")
    const port = await new Promise<number>((resolve) => {
      const server = Net.createServer()
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number }
        server.close(() => resolve(port))
      })
    })
    const launch = () =>
      spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        {
          stdio: "ignore"
        }
      )
    const ready = async () => {
      for (let i = 0; i < 100; i++) {
        const client = new RedisClient({
          port,
          lazyConnect: true,
          retryStrategy: () => null,
          maxRetriesPerRequest: 0
        })
        client.on("error", () => {})
        try {
          await client.connect()
          await client.ping()
          return
        } catch {
          await new Promise((r) => setTimeout(r, 100))
        } finally {
          client.disconnect()
        }
      }
      throw new Error("private redis did not start")
    }
    let child = launch()
    await ready()
    const kill = () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill("SIGKILL")
      })
    return {
      url: `redis://127.0.0.1:${port}`,
      kill,
      restart: async () => {
        await kill()
        child = launch()
        await ready()
      }
    }
  }),
  (redis) => Effect.promise(() => redis.kill())
)
