import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Either, Layer, Option, Schedule } from "effect"
import { Redis as RedisClient } from "ioredis"
import * as MemoryStreamLeases from "../src/Live/MemoryStreamLeases.js"
import * as RedisStreamLeases from "../src/Live/RedisStreamLeases.js"
import type { Lease, StreamLeasesShape } from "../src/Live/StreamLeases.js"
import { cleanupPrefix, redisUrl, uniquePrefix } from "./support/TestRedis.js"

/*
 * The live streams' leases, held to one contract by both implementations. "Two instances" are two leases
 * services: for Redis, two connections counting in the same sorted sets (as two API processes do); in
 * memory, the same service twice (one process). Leases here hold a second unrefreshed, so that a crashed
 * instance's lease lapsing is awaited in a test, not ten seconds.
 */

const LEASE = 1_000

class Instances extends Context.Tag("test/StreamLeaseInstances")<
  Instances,
  readonly [StreamLeasesShape, StreamLeasesShape]
>() {}

const memory = Layer.sync(Instances, () => {
  const one = MemoryStreamLeases.make(LEASE)
  return [one, one] as const
})

const redis = Layer.scoped(
  Instances,
  Effect.gen(function* () {
    const prefix = uniquePrefix("leases")
    yield* cleanupPrefix(redisUrl, prefix)
    const connect = Effect.acquireRelease(
      Effect.sync(() => new RedisClient(redisUrl, { keyPrefix: prefix })),
      (client) => Effect.promise(() => client.quit())
    )
    const a = yield* connect
    const b = yield* connect
    return [RedisStreamLeases.make(a, LEASE), RedisStreamLeases.make(b, LEASE)] as const
  })
)

let holders = 0
const holder = () => `api_key:holder-${process.pid}-${++holders}`

const taken = (result: Either.Either<Lease, number>) =>
  Either.getOrThrowWith(result, () => new Error("refused"))

const contract = (name: string, instances: Layer.Layer<Instances>) =>
  describe(`stream leases: ${name}`, () => {
    layer(instances, { excludeTestServices: true, timeout: 30_000 })((it) => {
      it.effect(
        "at most `limit` per holder across instances; another holder has its own; release frees",
        () =>
          Effect.gen(function* () {
            const [a, b] = yield* Instances
            const h = holder()
            const first = taken(yield* a.acquire(h, 3))
            taken(yield* b.acquire(h, 3))
            taken(yield* a.acquire(h, 3))
            const refused = yield* b.acquire(h, 3)
            expect(Either.isLeft(refused)).toBe(true)
            // How long until the soonest lease lapses: a Retry-After, never more than a lease.
            expect(Option.getOrThrow(Either.getLeft(refused))).toBeLessThanOrEqual(LEASE)
            expect(Either.isRight(yield* a.acquire(holder(), 3))).toBe(true)
            yield* b.release(first)
            expect(Either.isRight(yield* b.acquire(h, 3))).toBe(true)
            expect(Either.isLeft(yield* a.acquire(h, 3))).toBe(true)
          })
      )

      it.effect("a lease not refreshed lapses (its instance crashed); a refreshed one holds", () =>
        Effect.gen(function* () {
          const [a, b] = yield* Instances
          const h = holder()
          const kept = taken(yield* a.acquire(h, 2))
          taken(yield* b.acquire(h, 2))
          // Wait, refreshing the kept lease as its stream's ticks do, until the other has lapsed.
          yield* Effect.flatMap(a.refresh(kept), () => b.acquire(h, 2)).pipe(
            Effect.filterOrFail(Either.isRight, () => "still held"),
            Effect.retry(Schedule.spaced("50 millis")),
            Effect.timeout("10 seconds")
          )
          // The kept lease and the new one: full again.
          expect(Either.isLeft(yield* a.acquire(h, 2))).toBe(true)
        })
      )
    })
  })

contract("memory", memory)
contract("Redis, two connections", redis)
