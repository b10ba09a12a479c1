import { Context, Effect, Layer } from "effect"
import { Redis } from "../Redis/Redis.js"
import { TapQueueError } from "./TapQueue.js"

export interface MinuteCounts {
  readonly taps: number
  readonly byMode: Readonly<Record<string, number>>
}

/** Counters the pipeline keeps per event for the live dashboard (bots excluded, duplicates included). */
export interface LiveCountersShape {
  /** Taps in each second from `fromSecond` (epoch seconds) for `count` seconds. */
  readonly perSecond: (
    eventId: string,
    fromSecond: number,
    count: number
  ) => Effect.Effect<ReadonlyArray<number>, TapQueueError>
  readonly minute: (eventId: string, epochMinute: number) => Effect.Effect<MinuteCounts, TapQueueError>
  /** Distinct bands seen (HyperLogLog: about 0.8% standard error). */
  readonly uniqueBands: (eventId: string) => Effect.Effect<number, TapQueueError>
}

export class LiveCounters extends Context.Tag("@tapline/server/LiveCounters")<
  LiveCounters,
  LiveCountersShape
>() {}

const liveKey = (eventId: string) => `{taps}:live:${eventId}`

/** Reads a minute hash (`taps`, `mode:LIVE`, …) as Redis returns it or as the memory pipeline keeps it. */
export const minuteCounts = (fields: Readonly<Record<string, string | number>>): MinuteCounts => {
  const byMode: Record<string, number> = {}
  for (const [field, value] of Object.entries(fields)) {
    if (field.startsWith("mode:")) byMode[field.slice(5)] = Number(value)
  }
  return { taps: Number(fields.taps ?? 0), byMode }
}

export const redisLayer = Layer.effect(
  LiveCounters,
  Effect.gen(function* () {
    const client = yield* Redis
    const run = <A>(operation: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (cause) =>
          new TapQueueError({
            operation,
            message: cause instanceof Error ? cause.message : String(cause),
            cause
          })
      })
    return {
      perSecond: (eventId, fromSecond, count) =>
        run("perSecond", () =>
          Promise.all(
            Array.from({ length: count }, (_, i) => client.get(`${liveKey(eventId)}:s:${fromSecond + i}`))
          )
        ).pipe(Effect.map((values) => values.map((value) => Number(value ?? 0)))),
      minute: (eventId, epochMinute) =>
        run("minute", () => client.hgetall(`${liveKey(eventId)}:m:${epochMinute}`)).pipe(
          Effect.map(minuteCounts)
        ),
      uniqueBands: (eventId) => run("uniqueBands", () => client.pfcount(`${liveKey(eventId)}:uniq`))
    } satisfies LiveCountersShape
  })
)
