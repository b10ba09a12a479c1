import { redisUrl, runId } from "@tapline/testing/env"
import { startRedisServer } from "@tapline/testing/redisServer"
import { Duration, Effect, Option, Redacted } from "effect"
import { Redis as RedisClient } from "ioredis"
import type { AppConfigShape } from "../../src/Config/AppConfig.js"

export { redisUrl }

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
  Effect.promise(() => startRedisServer()),
  (redis) => Effect.promise(() => redis.dispose())
)
