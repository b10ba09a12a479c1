import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import {
  counterKey,
  LATEST_TAPS,
  type LatestTap,
  LiveCounters,
  type LiveCountersShape,
  liveCounterOps,
  minuteCounts,
  parseLatest
} from "./LiveCounters.js"
import * as MemoryTapStream from "./MemoryTapStream.js"
import * as SinkBehind from "./SinkBehind.js"
import { TapQueue, TapQueues, WRITER_GROUP } from "./TapQueue.js"
import type { RecorderStats, TapRecord } from "./TapRecord.js"
import { TapRecorder, type TapRecorderShape } from "./TapRecorder.js"

/**
 * The pipeline of a single embedded instance, without Redis: the same duplicate rule and live counters as
 * the Redis append script, and an in-process stream (MemoryTapStream) whose groups, the tap writer's and any
 * sink's, consume it with the same acknowledgements.
 * Nothing survives a crash of the process; that is what Redis is for in production.
 */
export const make = Effect.gen(function* () {
  const { taps } = yield* AppConfig
  const windowMs = Duration.toMillis(taps.duplicateInterval)

  const lastTap = new Map<string, number>()
  const perSecond = new Map<string, number>()
  const perMinute = new Map<string, Map<string, number>>()
  const uniques = new Map<string, Set<string>>()
  const latest = new Map<string, Array<LatestTap>>()

  const behind = yield* SinkBehind.make
  const stream = MemoryTapStream.make({ cap: taps.streamMaxEntries, behind })
  let overflowed = 0
  let appended = 0

  const count = (tap: TapRecord) => {
    for (const op of liveCounterOps([tap])) {
      if (op[0] === "s") perSecond.set(op[1], (perSecond.get(op[1]) ?? 0) + op[2])
      else if (op[0] === "m") {
        const fields = perMinute.get(op[1]) ?? new Map<string, number>()
        fields.set(op[2], (fields.get(op[2]) ?? 0) + op[3])
        perMinute.set(op[1], fields)
      } else if (op[0] === "l") {
        const list = latest.get(op[1]) ?? []
        for (const json of op.slice(2)) {
          const entry = parseLatest(json as string)
          if (entry !== null) list.unshift(entry)
        }
        latest.set(op[1], list.slice(0, LATEST_TAPS))
      } else {
        const seen = uniques.get(op[1]) ?? new Set<string>()
        for (const band of op.slice(2)) seen.add(band as string)
        uniques.set(op[1], seen)
      }
    }
  }

  // Embedded mode keeps taps in this process only: there is no journal to wait for.
  const record = (tap: TapRecord, onDurable?: () => void) => {
    onDurable?.()
    if (stream.writersHold() >= taps.bufferMax) {
      overflowed++
      return
    }
    let dup = false
    if (!tap.bot) {
      const key = `${tap.orgId ?? tap.orgRef}:${tap.bandUid}`
      const last = lastTap.get(key)
      dup = last !== undefined && tap.at >= last && tap.at - last < windowMs
      if (last === undefined || tap.at > last) lastTap.set(key, tap.at)
      count(tap)
    }
    stream.append(dup ? { ...tap, dup } : tap)
    appended++
  }

  // The same lifetimes as the Redis keys: seconds for 10 minutes, minutes and uniques and duplicate markers for a day.
  yield* Effect.forkScoped(
    Effect.repeat(
      Effect.sync(() => {
        const now = Date.now()
        const second = Math.floor(now / 1000)
        const minute = Math.floor(now / 60_000)
        for (const key of perSecond.keys())
          if (Number(key.slice(key.lastIndexOf(":") + 1)) < second - 600) perSecond.delete(key)
        for (const key of perMinute.keys())
          if (Number(key.slice(key.lastIndexOf(":") + 1)) < minute - 1500) perMinute.delete(key)
        for (const [key, at] of lastTap) if (at < now - windowMs - 60_000) lastTap.delete(key)
      }),
      Schedule.spaced("1 minute")
    )
  )

  const recorder: TapRecorderShape = {
    record,
    stats: (): RecorderStats => ({
      buffered: stream.writersHold(),
      overflowed,
      appended,
      spooled: 0,
      replayed: 0,
      dropped: overflowed,
      journalSegments: 0,
      held: 0,
      journal: "none"
    })
  }

  const live: LiveCountersShape = {
    perSecond: (eventId, fromSecond, n) =>
      Effect.sync(() =>
        Array.from({ length: n }, (_, i) => perSecond.get(counterKey.second(eventId, fromSecond + i)) ?? 0)
      ),
    minute: (eventId, epochMinute) =>
      Effect.sync(() =>
        minuteCounts(Object.fromEntries(perMinute.get(counterKey.minute(eventId, epochMinute)) ?? []))
      ),
    uniqueBands: (eventId) => Effect.sync(() => uniques.get(counterKey.uniques(eventId))?.size ?? 0),
    latest: (eventId) => Effect.sync(() => latest.get(counterKey.latest(eventId)) ?? [])
  }

  return Context.make(TapRecorder, recorder).pipe(
    Context.add(TapQueue, stream.queue(WRITER_GROUP)),
    Context.add(TapQueues, {
      forGroup: (group) =>
        Effect.sync(() => {
          stream.register(group)
          return stream.queue(group)
        })
    }),
    Context.add(LiveCounters, live),
    Context.add(SinkBehind.SinksBehind, behind)
  )
})

export const layer = Layer.scopedContext(make)
