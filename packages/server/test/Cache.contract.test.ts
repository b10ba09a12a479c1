import { describe, expect, it, layer } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Redis as RedisClient } from "ioredis"
import { Cache } from "../src/Cache/Cache.js"
import * as MemoryCache from "../src/Cache/MemoryCache.js"
import * as RedisCache from "../src/Cache/RedisCache.js"
import type { AppConfigShape } from "../src/Config/AppConfig.js"
import { make as makeRedis, Redis } from "../src/Redis/Redis.js"
import * as Topology from "./support/RedisTopology.js"
import { cleanupPrefix, redisConfig, redisUrl, uniquePrefix } from "./support/TestRedis.js"

const sleep = (ms: number) => Effect.sleep(Duration.millis(ms))

/** The same behaviour is required of every implementation; each `describe` below runs it on one. */
const contract = (implementation: string, cacheLayer: Layer.Layer<Cache, unknown>) =>
  describe(`Cache contract: ${implementation}`, () => {
    layer(cacheLayer, { excludeTestServices: true })((it) => {
      it.effect("stores, reads and deletes values; a missing key is none", () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          expect(yield* cache.get("missing")).toEqual(Option.none())
          yield* cache.set("greeting", "hello")
          expect(yield* cache.get("greeting")).toEqual(Option.some("hello"))
          yield* cache.set("greeting", "hi again")
          expect(yield* cache.get("greeting")).toEqual(Option.some("hi again"))
          expect(yield* cache.delete("greeting")).toBe(true)
          expect(yield* cache.delete("greeting")).toBe(false)
          expect(yield* cache.get("greeting")).toEqual(Option.none())
        })
      )

      it.effect("expires values after their TTL and reports what is left", () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          yield* cache.set("short", "lived", { ttl: "300 millis" })
          const left = Option.getOrThrow(yield* cache.ttl("short"))
          expect(Duration.toMillis(left)).toBeGreaterThan(0)
          expect(Duration.toMillis(left)).toBeLessThanOrEqual(300)
          expect(yield* cache.get("short")).toEqual(Option.some("lived"))
          yield* sleep(450)
          expect(yield* cache.get("short")).toEqual(Option.none())
          yield* cache.set("forever", "x")
          expect(yield* cache.ttl("forever")).toEqual(Option.none())
        })
      )

      it.effect("setIfAbsent stores only the first value until it expires", () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          expect(yield* cache.setIfAbsent("once", "first", { ttl: "300 millis" })).toBe(true)
          expect(yield* cache.setIfAbsent("once", "second", { ttl: "300 millis" })).toBe(false)
          expect(yield* cache.get("once")).toEqual(Option.some("first"))
          yield* sleep(450)
          expect(yield* cache.setIfAbsent("once", "third")).toBe(true)
          expect(yield* cache.get("once")).toEqual(Option.some("third"))
        })
      )

      it.effect("take hands a value to exactly one of many concurrent callers", () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          yield* cache.set("challenge", "c-123")
          const results = yield* Effect.all(
            Array.from({ length: 25 }, () => cache.take("challenge")),
            { concurrency: "unbounded" }
          )
          expect(results.filter(Option.isSome)).toEqual([Option.some("c-123")])
          expect(yield* cache.get("challenge")).toEqual(Option.none())
        })
      )

      it.effect("increment is atomic and its TTL starts with the counter", () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          const values = yield* Effect.all(
            Array.from({ length: 50 }, () => cache.increment("hits", { ttl: "2 seconds" })),
            { concurrency: "unbounded" }
          )
          expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
          expect(yield* cache.increment("hits", { by: 10 })).toBe(60)

          yield* cache.increment("window", { ttl: "600 millis" })
          yield* sleep(250)
          yield* cache.increment("window", { ttl: "600 millis" })
          const left = Duration.toMillis(Option.getOrThrow(yield* cache.ttl("window")))
          expect(left).toBeLessThanOrEqual(360)
          yield* sleep(500)
          expect(yield* cache.get("window")).toEqual(Option.none())
        })
      )

      it.effect("getMany answers in order, across any number of keys", () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          const keys = Array.from({ length: 30 }, (_, i) => `many:${i}`)
          for (const [i, key] of keys.entries()) if (i % 3 !== 0) yield* cache.set(key, `v${i}`)
          const values = yield* cache.getMany(keys)
          expect(values).toEqual(keys.map((_, i) => (i % 3 === 0 ? Option.none() : Option.some(`v${i}`))))
          expect(yield* cache.getMany([])).toEqual([])
        })
      )

      it.effect("ping answers while the store is up", () => Effect.flatMap(Cache, (cache) => cache.ping))
    })
  })

const redisCache = (config: AppConfigShape["redis"]) =>
  RedisCache.layer.pipe(Layer.provide(Layer.scoped(Redis, makeRedis(config))))

/** A Redis-backed cache under a fresh prefix whose keys are removed afterwards. */
const standalone = (name: string) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const prefix = uniquePrefix(name)
      yield* cleanupPrefix(redisUrl, prefix)
      return redisCache(redisConfig(prefix))
    })
  )

contract("in memory", MemoryCache.layer)
contract("Redis standalone", standalone("cache"))
contract(
  "Redis Sentinel",
  Layer.unwrapScoped(Effect.map(Topology.sentinelConfig(uniquePrefix("sentinel")), redisCache))
)
contract(
  "Redis Cluster",
  Layer.unwrapScoped(Effect.map(Topology.clusterConfig(uniquePrefix("cluster")), redisCache))
)
contract(
  "Redis over TLS with an ACL user",
  Layer.unwrapScoped(
    Effect.map(Topology.tlsWithAcl, ({ caFile, port }) =>
      redisCache(
        redisConfig(uniquePrefix("tls"), {
          url: Option.some(Redacted.make(`rediss://127.0.0.1:${port}`)),
          username: Option.some("tapline"),
          password: Option.some(Redacted.make("s3cret-pass")),
          tlsCaFile: Option.some(caFile)
        })
      )
    )
  )
)

describe("Redis connection", () => {
  it.scoped("keys live under the configured prefix and prefixes do not see each other", () =>
    Effect.gen(function* () {
      const first = uniquePrefix("isolation-a")
      const second = uniquePrefix("isolation-b")
      yield* cleanupPrefix(redisUrl, first)
      yield* cleanupPrefix(redisUrl, second)
      const a = RedisCache.make(yield* makeRedis(redisConfig(first)))
      const b = RedisCache.make(yield* makeRedis(redisConfig(second)))
      yield* a.set("shared-name", "from a")
      expect(yield* b.get("shared-name")).toEqual(Option.none())

      const raw = new RedisClient(redisUrl)
      const stored = yield* Effect.promise(() => raw.get(`${first}shared-name`))
      yield* Effect.promise(() => raw.quit())
      expect(stored).toBe("from a")
    })
  )

  it.scoped("a wrong password fails start-up with a message that does not contain it", () =>
    Effect.gen(function* () {
      const { caFile, port } = yield* Topology.tlsWithAcl
      const exit = yield* Effect.exit(
        makeRedis(
          redisConfig("x:", {
            url: Option.some(Redacted.make(`rediss://127.0.0.1:${port}`)),
            username: Option.some("tapline"),
            password: Option.some(Redacted.make("wrong-password-value")),
            tlsCaFile: Option.some(caFile)
          })
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const text = JSON.stringify(exit)
      expect(text).toContain("RedisUnavailable")
      expect(text).toContain(`127.0.0.1:${port}`)
      expect(text).not.toContain("wrong-password-value")
    })
  )

  it.scoped("an unreachable server fails start-up naming where it looked", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        makeRedis(
          redisConfig("x:", {
            url: Option.some(Redacted.make("redis://127.0.0.1:1")),
            connectTimeout: Duration.seconds(1)
          })
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain("Redis unreachable at 127.0.0.1:1")
    })
  )
})
