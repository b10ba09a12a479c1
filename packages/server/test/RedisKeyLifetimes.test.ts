import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { Redis as RedisClient } from "ioredis"
import { TapRecorder } from "../src/Taps/TapRecorder.js"
import { serviceHarnessWith } from "./support/ServiceHarness.js"
import { show, tapOf, tenant } from "./support/TapFixtures.js"
import { cleanupPrefix, redisUrl, uniquePrefix } from "./support/TestRedis.js"

/*
 * Issue 26, item 7c: keys without a TTL were found in a shared Redis. Some are meant to live as long as the
 * data they mirror (the read model, rebuilt from PostgreSQL; the tap stream, trimmed by the writer); every
 * other key the tap pipeline writes must expire on its own, or one is left behind per event forever.
 */

/** Keys that live without a TTL by design, relative to the prefix. */
const LASTING = [/^rm:/, /^\{taps\}:stream$/]

const prefix = uniquePrefix("lifetimes")
const services = serviceHarnessWith({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix }).pipe(
  Layer.provideMerge(Layer.scopedDiscard(cleanupPrefix(redisUrl, prefix)))
)

/** Every key under the prefix with its TTL in seconds (-1: none). */
const keysWithTtl = Effect.acquireUseRelease(
  Effect.sync(() => new RedisClient(redisUrl)),
  (client) =>
    Effect.promise(async () => {
      const found: Array<{ key: string; ttl: number }> = []
      for await (const keys of client.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<
        Array<string>
      >) {
        for (const key of keys) found.push({ key: key.slice(prefix.length), ttl: await client.ttl(key) })
      }
      return found
    }),
  (client) => Effect.promise(() => client.quit())
)

layer(services, { excludeTestServices: true, timeout: 120_000 })("Redis key lifetimes", (it) => {
  it.effect("every key the tap pipeline writes expires, but the read model's and the stream", () =>
    Effect.gen(function* () {
      const recorder = yield* TapRecorder
      const t = yield* tenant({ events: [{ status: "ACTIVE", windows: show("lifetimes") }] })
      for (const band of ["K-1", "K-2"]) recorder.record(tapOf(t, band, { mode: "LIVE" }))
      // The batch is appended in the background: wait for its live counters (the unique-band count last).
      const keys = yield* keysWithTtl.pipe(
        Effect.filterOrFail((keys) => keys.some(({ key }) => key.endsWith(":uniq"))),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("30 seconds")))
      )
      expect(keys.map(({ key }) => key)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^\{taps\}:live:/),
          expect.stringMatching(/^\{taps\}:last:/)
        ])
      )
      const lasting = (key: string) => LASTING.some((pattern) => pattern.test(key))
      expect(keys.filter(({ key, ttl }) => !lasting(key) && ttl < 0)).toEqual([])
    })
  )
})
