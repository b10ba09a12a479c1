import { Cron, Duration, Effect } from "effect"
import { JobsError } from "./Jobs.js"

/** The scheduled queues whose cron expression (UTC) matches this minute. */
export const dueQueues = (scheduled: ReadonlyMap<string, string>, minute: Date): ReadonlyArray<string> =>
  [...scheduled].flatMap(([queue, expression]) => {
    const parsed = Cron.parse(expression, "UTC")
    return parsed._tag === "Right" && Cron.match(parsed.right, minute) ? [queue] : []
  })

/** Succeeds when `expression` is a cron expression Effect's `Cron` reads (minute precision, UTC). */
export const checkCron = (expression: string) =>
  Cron.parse(expression, "UTC")._tag === "Right"
    ? Effect.void
    : Effect.fail(new JobsError({ operation: "schedule", message: `not a cron expression: ${expression}` }))

/**
 * Runs `onMinute` just after each minute boundary, with that minute, until the scope closes. Both job
 * implementations schedule this way: matching a minute against a parsed `Cron` costs microseconds, where
 * pg-boss's own timekeeper (cron-parser with time zones through luxon) held the event loop for ~36 ms a
 * minute, which the redirect's p99.9 paid for on every instance that serves taps.
 */
export const everyMinute = <E, R>(onMinute: (minute: Date) => Effect.Effect<void, E, R>) =>
  Effect.gen(function* () {
    yield* Effect.sleep(Duration.millis(60_000 - (Date.now() % 60_000)))
    yield* onMinute(new Date(Math.floor(Date.now() / 60_000) * 60_000))
  }).pipe(Effect.forever, Effect.forkScoped)
