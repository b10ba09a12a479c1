import type * as RateLimiter from "@effect/experimental/RateLimiter"
import { Clock, Duration, Effect, Ref } from "effect"

/**
 * A provider account's pace: at most `rate` sends a second, for every sender sharing the account.
 *
 * - **Slots are reserved on a shared schedule** (the rate limiter's fixed window with a limit of one: its store,
 *   Redis where configured, keeps the time the last reservation ends), one every `spacing` ms. A slot is a
 *   point on that schedule, not a token: a send that wakes late for its slot still has it, and the next slot is
 *   not moved. Pacing from each send's actual start instead lost every late wake-up for good (bench:journeys
 *   sent 46.8 a second at a limit of 50, and the backlog's lag grew with it).
 * - **This process never starts more than `rate` sends in any second** (`perSecond`, a log of its last starts).
 *   Sends whose slots passed while the process was busy catch up, but not as a burst over the limit that the
 *   provider would count (bench:journeys once saw 56 in a second at 50 without it).
 * - **When the shared store fails**, the slot comes from a schedule of this process's own, so sends stay paced
 *   and are not held back (holding them would stall every organisation's messages); `onStoreDown` says so.
 *
 * Spacing is whole milliseconds (the store's `PX`), so a rate that does not divide 1000 is held a little under
 * (30 a second is 29.4).
 */
export const make = (options: {
  readonly limiter: RateLimiter.RateLimiter
  readonly key: string
  readonly rate: number
  readonly onStoreDown: (error: RateLimiter.RateLimiterError) => Effect.Effect<void>
  readonly onStoreUp: Effect.Effect<void>
}) =>
  Effect.gen(function* () {
    const spacing = Math.max(1, Math.ceil(1000 / options.rate))
    const perSecond = Math.max(1, Math.floor(options.rate))
    const localNext = yield* Ref.make(Number.NEGATIVE_INFINITY)
    const starts: Array<number> = []
    const gate = yield* Effect.makeSemaphore(1)

    const local = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Ref.modify(localNext, (next) => {
        const at = Math.max(now, next)
        return [at - now, at + spacing] as const
      })
    )

    /** How long until this send's slot on the shared schedule (or the local one, when the store fails). */
    const reserve = options.limiter
      .consume({
        key: options.key,
        algorithm: "fixed-window",
        limit: 1,
        window: Duration.millis(spacing),
        onExceeded: "delay"
      })
      .pipe(
        Effect.tap(() => options.onStoreUp),
        Effect.map((slot) => Duration.toMillis(slot.delay)),
        Effect.catchAll((error) => Effect.zipRight(options.onStoreDown(error), local))
      )

    const withinSecond = gate.withPermits(1)(
      Effect.gen(function* () {
        if (starts.length >= perSecond) {
          const wait = starts[0]! + 1000 - (yield* Clock.currentTimeMillis)
          if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
          starts.shift()
        }
        starts.push(yield* Clock.currentTimeMillis)
      })
    )

    return Effect.gen(function* () {
      const delay = yield* reserve
      if (delay > 0) yield* Effect.sleep(Duration.millis(delay))
      yield* withinSecond
    })
  })
