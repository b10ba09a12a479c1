import type { LiveTap } from "@tapline/domain"
import { Context, Effect, Layer } from "effect"
import { Redis } from "../Redis/Redis.js"
import { TapQueueError } from "./TapQueue.js"
import type { TapRecord } from "./TapRecord.js"

/** One of an event's latest taps, as the live view shows it: the live stream's `tap` message. */
export type LatestTap = LiveTap

/** How many of an event's latest taps the pipeline keeps for the live view. */
export const LATEST_TAPS = 50

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
  /** The event's latest taps (at most LATEST_TAPS), newest first. */
  readonly latest: (eventId: string) => Effect.Effect<ReadonlyArray<LatestTap>, TapQueueError>
}

export class LiveCounters extends Context.Tag("@tapline/server/LiveCounters")<
  LiveCounters,
  LiveCountersShape
>() {}

/** One event's counters: after `{taps}:live:` in Redis, and as they are keyed in memory. */
export const counterKey = {
  second: (eventId: string, second: number) => `${eventId}:s:${second}`,
  minute: (eventId: string, minute: number) => `${eventId}:m:${minute}`,
  uniques: (eventId: string) => `${eventId}:uniq`,
  latest: (eventId: string) => `${eventId}:latest`
} as const

const LIVE = "{taps}:live:"

/*
 * The counter changes of a batch, computed once for both pipelines: the Redis append script applies them
 * (ARGV[3]), the memory pipeline applies them to its maps.
 */
export type CounterOp =
  | readonly ["s", string, number]
  | readonly ["m", string, string, number]
  | readonly ["u", string, ...Array<string>]
  /** The batch's latest taps of one event, oldest first, as JSON: pushed in front of the event's list. */
  | readonly ["l", string, ...Array<string>]

/** The live counters of a batch, added up: per event and second, per event and minute (total and mode), bands. */
export const liveCounterOps = (taps: ReadonlyArray<TapRecord>): ReadonlyArray<CounterOp> => {
  const byEvent = new Map<
    string,
    {
      seconds: Map<number, number>
      minutes: Map<number, Map<string, number>>
      bands: Set<string>
      latest: Array<TapRecord>
    }
  >()
  for (const tap of taps) {
    if (tap.bot || tap.eventId === null) continue
    let counts = byEvent.get(tap.eventId)
    if (counts === undefined) {
      counts = { seconds: new Map(), minutes: new Map(), bands: new Set(), latest: [] }
      byEvent.set(tap.eventId, counts)
    }
    const second = Math.floor(tap.at / 1000)
    counts.seconds.set(second, (counts.seconds.get(second) ?? 0) + 1)
    const minute = Math.floor(tap.at / 60_000)
    let fields = counts.minutes.get(minute)
    if (fields === undefined) {
      fields = new Map()
      counts.minutes.set(minute, fields)
    }
    fields.set("taps", (fields.get("taps") ?? 0) + 1)
    if (tap.mode !== null) fields.set(`mode:${tap.mode}`, (fields.get(`mode:${tap.mode}`) ?? 0) + 1)
    counts.bands.add(tap.bandUid)
    counts.latest.push(tap)
  }
  const ops: Array<CounterOp> = []
  for (const [eventId, counts] of byEvent) {
    for (const [second, n] of counts.seconds) ops.push(["s", counterKey.second(eventId, second), n])
    for (const [minute, fields] of counts.minutes) {
      for (const [field, n] of fields) ops.push(["m", counterKey.minute(eventId, minute), field, n])
    }
    ops.push(["u", counterKey.uniques(eventId), ...counts.bands])
    ops.push(["l", counterKey.latest(eventId), ...counts.latest.slice(-LATEST_TAPS).map(latestJson)])
  }
  return ops
}

const latestJson = (tap: TapRecord) =>
  JSON.stringify({ id: tap.id, at: tap.at, bandUid: tap.bandUid, mode: tap.mode, kind: tap.kind })

/** Reads one entry of the latest-taps list; null for anything that is not one (the list is ours, but Redis is shared). */
export const parseLatest = (json: string): LatestTap | null => {
  try {
    const value = JSON.parse(json) as LatestTap
    return typeof value?.id === "string" && typeof value.at === "number" ? value : null
  } catch {
    return null
  }
}

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
            Array.from({ length: count }, (_, i) =>
              client.get(`${LIVE}${counterKey.second(eventId, fromSecond + i)}`)
            )
          )
        ).pipe(Effect.map((values) => values.map((value) => Number(value ?? 0)))),
      minute: (eventId, epochMinute) =>
        run("minute", () => client.hgetall(`${LIVE}${counterKey.minute(eventId, epochMinute)}`)).pipe(
          Effect.map(minuteCounts)
        ),
      uniqueBands: (eventId) =>
        run("uniqueBands", () => client.pfcount(`${LIVE}${counterKey.uniques(eventId)}`)),
      latest: (eventId) =>
        run("latest", () => client.lrange(`${LIVE}${counterKey.latest(eventId)}`, 0, LATEST_TAPS - 1)).pipe(
          Effect.map((entries) => entries.flatMap((json) => parseLatest(json) ?? []))
        )
    } satisfies LiveCountersShape
  })
)
