import * as RateLimiter from "@effect/experimental/RateLimiter"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Fiber, Layer } from "effect"
import * as Pacer from "../src/Journeys/Pacer.js"

/*
 * A provider account's pace on a clock the test moves (the limiter's in-memory store reads the same clock).
 * Effect's TestClock wakes each sleeper at its own deadline; a busy process wakes every sleeper whose deadline
 * passed at once, late, and that is the case that matters here: `to(t)` moves the time to t and only then
 * wakes everything due. Journeys.channels.test.ts holds the pace across two senders on Redis, on the real
 * clock.
 */

const manualClock = () => {
  let now = 0
  let sleepers: Array<{ readonly at: number; readonly wake: Deferred.Deferred<void> }> = []
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep: (duration) =>
      Effect.flatMap(Deferred.make<void>(), (wake) => {
        sleepers.push({ at: now + Duration.toMillis(duration), wake })
        return Deferred.await(wake)
      })
  }
  /** The time is t; every sleeper due by then wakes now (late, for those due earlier). */
  const to = (t: number) =>
    Effect.gen(function* () {
      now = t
      const due = sleepers.filter((s) => s.at <= t)
      sleepers = sleepers.filter((s) => s.at > t)
      for (const s of due) yield* Deferred.succeed(s.wake, undefined)
      // Let the woken sends run to their next sleep or their start.
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
    })
  /** From the current time to t in steps: a process that is not busy wakes each sleeper on time. */
  const stepTo = (t: number, step: number) =>
    Effect.gen(function* () {
      while (now < t) yield* to(Math.min(t, now + step))
    })
  return { clock, to, stepTo }
}

const limiter = RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory))

/** `count` sends started at once, as the sender's places in flight start them; each records when it began. */
const startSends = (pace: Effect.Effect<void>, count: number) =>
  Effect.gen(function* () {
    const starts: Array<number> = []
    const fibers = []
    for (let i = 0; i < count; i++) {
      fibers.push(
        yield* Effect.fork(
          Effect.zipRight(
            pace,
            Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => starts.push(at)))
          )
        )
      )
      // Reservations are made in order: each send reserves before the next is started.
      yield* Effect.yieldNow()
    }
    return { starts, all: Fiber.joinAll(fibers) }
  })

const busiestSecond = (starts: ReadonlyArray<number>) =>
  Math.max(...starts.map((at) => starts.filter((t) => t >= at && t < at + 1000).length))

/** A pace on the in-memory store, which never fails. */
const paceOnMemory = (key: string, rate: number) =>
  Effect.flatMap(limiter, (limiter) =>
    Pacer.make({ limiter, key, rate, onStoreDown: () => Effect.void, onStoreUp: Effect.void })
  )

describe("Pacer", () => {
  it.effect("slots passed while the process was busy are kept, not lost: the sends catch up", () => {
    const time = manualClock()
    return Effect.gen(function* () {
      const pace = yield* paceOnMemory("catch-up", 50)
      const sends = yield* startSends(pace, 40)
      // The process stalls for 300 ms: the slots at 0, 20, …, 300 all pass before it wakes.
      yield* time.to(300)
      yield* time.stepTo(1300, 20)
      yield* sends.all
      expect(sends.starts.filter((at) => at === 300)).toHaveLength(15)
      // The last slot is 39 × 20 = 780 ms; spacing each start from the previous actual one would put it at
      // 300 + 38 × 20 = 1 060 ms, and every later message with it.
      expect(Math.max(...sends.starts)).toBe(780)
      expect(busiestSecond(sends.starts)).toBeLessThanOrEqual(50)
    }).pipe(Effect.withClock(time.clock))
  })

  it.effect("never more than the rate in any second of this process, however late it wakes", () => {
    const time = manualClock()
    return Effect.gen(function* () {
      const pace = yield* paceOnMemory("burst", 5)
      const sends = yield* startSends(pace, 20)
      // Asleep for 3 s: 16 slots passed. Only 5 may start in the second that follows, then 5 a second.
      yield* time.to(3000)
      yield* time.stepTo(8000, 50)
      yield* sends.all
      expect(sends.starts).toHaveLength(20)
      expect(busiestSecond(sends.starts)).toBe(5)
      expect(sends.starts.filter((at) => at === 3000)).toHaveLength(5)
    }).pipe(Effect.withClock(time.clock))
  })

  it.effect(
    "when the shared store fails, a schedule of this process's own paces the sends, and each failure is reported",
    () => {
      const time = manualClock()
      return Effect.gen(function* () {
        const failing = RateLimiter.make.pipe(
          Effect.provide(
            Layer.succeed(RateLimiter.RateLimiterStore, {
              fixedWindow: () => Effect.fail(new RateLimiter.RateLimitStoreError({ message: "store away" })),
              tokenBucket: () => Effect.fail(new RateLimiter.RateLimitStoreError({ message: "store away" }))
            })
          )
        )
        let down = 0
        const pace = yield* Pacer.make({
          limiter: yield* failing,
          key: "local",
          rate: 10,
          onStoreDown: () => Effect.sync(() => down++),
          onStoreUp: Effect.void
        })
        const sends = yield* startSends(pace, 5)
        yield* time.stepTo(1000, 10)
        yield* sends.all
        expect([...sends.starts].sort((a, b) => a - b)).toEqual([0, 100, 200, 300, 400])
        expect(down).toBe(5)
      }).pipe(Effect.withClock(time.clock))
    }
  )
})
