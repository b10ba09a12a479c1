import * as Os from "node:os"
import { Context, Duration, Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import * as LuaScript from "../Redis/LuaScript.js"
import { keyPrefixOf, Redis, type RedisConnection } from "../Redis/Redis.js"
import { gauge, Metrics, type MetricsShape } from "../Telemetry/Metrics.js"
import { STREAM_KEY } from "./RedisTapKeys.js"
import * as SinkBehind from "./SinkBehind.js"
import {
  type Delivery,
  type PipelineHealth,
  TapQueue,
  TapQueueError,
  type TapQueueShape,
  TapQueues,
  WRITER_GROUP
} from "./TapQueue.js"
import type { TapRecord } from "./TapRecord.js"

const errorMessage = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/*
 * A stopping writer's release, atomic so no entry can be delivered to it in between: the entries it still
 * holds get an idle time past TAP_CLAIM_IDLE (ARGV[3]), so another writer's claimer takes them on its next
 * pass; holding none, the consumer leaves the group. DELCONSUMER on a consumer that holds entries would drop
 * them from the pending list for good, which is why it is only ever done on an empty one.
 */
const RELEASE = `
local held = 0
local start = '-'
while true do
  local page = redis.call('XPENDING', KEYS[1], ARGV[1], start, '+', 1000, ARGV[2])
  if #page == 0 then break end
  local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], '0'}
  for _, entry in ipairs(page) do table.insert(args, entry[1]) end
  table.insert(args, 'IDLE')
  table.insert(args, ARGV[3])
  table.insert(args, 'JUSTID')
  redis.call(unpack(args))
  held = held + #page
  start = '(' .. page[#page][1]
end
if held == 0 then redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2]) end
return held`

/* Consumers idle longer than ARGV[2] that hold nothing: writers that died and whose entries were claimed. */
const FORGET_IDLE = `
local removed = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local fields = {}
  for i = 1, #consumer, 2 do fields[consumer[i]] = consumer[i + 1] end
  if fields['pending'] == 0 and fields['idle'] > tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields['name'])
    removed = removed + 1
  end
end
return removed`

/*
 * Where the cap cuts: the last of the oldest ARGV[1] entries (those past TAP_STREAM_MAX_ENTRIES) that lie
 * below ARGV[2], the writers' oldest unacknowledged or unread entry. Only that id comes back, not the
 * entries.
 */
const CAP_BOUNDARY = `
local entries = redis.call('XRANGE', KEYS[1], '-', '(' .. ARGV[2], 'COUNT', ARGV[1])
if #entries == 0 then return false end
return entries[#entries][1]`

const release = LuaScript.make(RELEASE)
const forgetIdle = LuaScript.make(FORGET_IDLE)
const capBoundary = LuaScript.make(CAP_BOUNDARY)

/**
 * One consumer group's queue: one consumer of `group` per process. Making it creates the group on the stream,
 * which is how a group registers: the stream's own list of groups is the registry that `trim` reads, so
 * there is no second key to keep in step with it (and it lives in the `{taps}` slot with the stream).
 */
export const make = (group: string, behind: SinkBehind.SinkBehind) =>
  Effect.gen(function* () {
    const client = yield* Redis
    // XREADGROUP BLOCK holds a connection: each batch the writer has in flight reads on one of its own.
    const { taps: tapConfig } = yield* AppConfig
    const readers = yield* Effect.forEach(Array.from({ length: tapConfig.writerConcurrency }), () =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const duplicate = client.duplicate()
          duplicate.on("error", () => {})
          return duplicate
        }),
        (duplicate) => Effect.sync(() => duplicate.disconnect())
      )
    )
    const idle = [...readers]
    const readerPermits = yield* Effect.makeSemaphore(readers.length)
    const withReader = <A, E>(f: (reader: (typeof readers)[number]) => Effect.Effect<A, E>) =>
      readerPermits.withPermits(1)(
        Effect.acquireUseRelease(
          Effect.sync(() => idle.pop()!),
          f,
          (reader) => Effect.sync(() => idle.push(reader))
        )
      )
    const consumer = `${Os.hostname()}-${process.pid}`
    // ioredis applies keyPrefix only where the key is the first argument: XGROUP and XINFO need it by hand.
    const prefixedStream = `${keyPrefixOf(client)}${STREAM_KEY}`

    const run = <A>(operation: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (cause) => new TapQueueError({ operation, message: errorMessage(cause), cause })
      })

    const metrics = yield* Metrics
    // The stream's gauges speak of the writers (and are registered once): a sink's queue adds none.
    if (group === WRITER_GROUP) yield* streamGauges(client, metrics)

    const claimIdleMs = Duration.toMillis(tapConfig.claimIdle)
    const cap = tapConfig.streamMaxEntries

    const ensureGroup = run("createGroup", () =>
      client.xgroup("CREATE", prefixedStream, group, "0", "MKSTREAM").catch((error: Error) => {
        if (!error.message.includes("BUSYGROUP")) throw error
      })
    )
    yield* ensureGroup

    const decode = (entries: ReadonlyArray<[string, ReadonlyArray<string>] | null>): Delivery => {
      const ids: Array<string> = []
      const taps: Array<TapRecord> = []
      let malformed = 0
      for (const entry of entries) {
        // XAUTOCLAIM lists entries deleted meanwhile as null.
        if (entry === null) continue
        const [id, fields] = entry
        ids.push(id)
        try {
          const tap = JSON.parse(fields[1] ?? "") as TapRecord
          taps.push(fields[3] === "1" ? { ...tap, dup: true } : tap)
        } catch {
          malformed++
        }
      }
      return { ids, taps, malformed }
    }

    const queue: TapQueueShape = {
      take: (max) =>
        withReader((reader) =>
          run(
            "take",
            () =>
              reader.xreadgroup(
                "GROUP",
                group,
                consumer,
                "COUNT",
                max,
                "BLOCK",
                1000,
                "STREAMS",
                STREAM_KEY,
                ">"
              ) as Promise<Array<[string, Array<[string, Array<string>]>]> | null>
          ).pipe(
            // A flushed Redis loses the group: recreate it and carry on.
            Effect.catchIf(
              (error) => error.message.includes("NOGROUP"),
              () => ensureGroup.pipe(Effect.as(null))
            ),
            Effect.map((reply) => decode(reply?.[0]?.[1] ?? []))
          )
        ),
      claim: (idleMs, max) =>
        run(
          "claim",
          () =>
            client.xautoclaim(STREAM_KEY, group, consumer, idleMs, "0-0", "COUNT", max) as Promise<
              [string, Array<[string, Array<string>] | null>]
            >
        ).pipe(
          Effect.tap((reply) => {
            const deleted = (reply as unknown as Array<unknown>)[2] as Array<string> | undefined
            return deleted !== undefined && deleted.length > 0
              ? Effect.logError(
                  "pending tap entries were deleted before they were stored (the stream trimmed or flushed under them); those taps are lost, their ids logged"
                ).pipe(Effect.annotateLogs({ ids: deleted.slice(0, 20), count: deleted.length }))
              : Effect.void
          }),
          Effect.map((reply) => decode(reply[1] ?? []))
        ),
      ack: (ids) =>
        ids.length === 0
          ? Effect.void
          : run("ack", () => client.xack(STREAM_KEY, group, ...ids)).pipe(Effect.asVoid),
      /*
       * Never MAXLEN: it ignores the groups and would drop unread entries. Each group's floor is its oldest
       * unacknowledged entry, or just past its last delivered one when nothing is pending; the stream is
       * trimmed below the lowest floor. The groups' last delivered ids are read first: entries a consumer
       * takes after that read are above them, and entries taken before it still show as pending when XPENDING
       * runs, so nothing delivered but unacknowledged is ever trimmed. A group that has read nothing keeps
       * everything.
       *
       * Past TAP_STREAM_MAX_ENTRIES, a sink lagging behind the writers no longer holds the stream: the oldest
       * entries beyond the cap go, and the sinks whose floor was below the cut are marked behind. The cut
       * never passes the writers' floor, so the writers lose nothing they have not stored.
       */
      trim: Effect.gen(function* () {
        const groups = (yield* run("groups", () => client.xinfo("GROUPS", prefixedStream))) as Array<
          Array<unknown>
        >
        const floors = new Map<string, string | undefined>()
        for (const info of groups.map(toRecord)) {
          const name = String(info.name)
          const [count, oldest] = (yield* run("pending", () => client.xpending(STREAM_KEY, name))) as [
            number,
            string | null
          ]
          const lastDelivered = info["last-delivered-id"]
          floors.set(
            name,
            count > 0 && oldest !== null
              ? oldest
              : typeof lastDelivered === "string" && lastDelivered !== "0-0"
                ? nextId(lastDelivered)
                : undefined
          )
        }
        const writers = floors.get(WRITER_GROUP)
        if (writers === undefined) return 0
        let boundary = lowest([...floors.values()])
        const passed: Array<string> = []
        let pastCap = false
        if (boundary === undefined || compareIds(boundary, writers) < 0) {
          const excess = (yield* run("xlen", () => client.xlen(STREAM_KEY))) - cap
          pastCap = excess > 0
          const last =
            excess > 0
              ? yield* run("cap", () => capBoundary<string | null>(client, [STREAM_KEY], [excess, writers]))
              : null
          const cut = last === null ? undefined : nextId(last)
          if (cut !== undefined && (boundary === undefined || compareIds(cut, boundary) > 0)) {
            boundary = cut
            for (const [name, floor] of floors)
              if (name !== WRITER_GROUP && (floor === undefined || compareIds(floor, cut) < 0))
                passed.push(name)
          }
        }
        if (boundary === undefined)
          return yield* behind.trimmed(passed, { cap, removed: 0, pastCap }).pipe(Effect.as(0))
        const until = boundary
        const removed = yield* run("trim", () => client.xtrim(STREAM_KEY, "MINID", until))
        yield* behind.trimmed(passed, { cap, removed, pastCap })
        return removed
      }),
      release: run("release", () =>
        release<number>(client, [STREAM_KEY], [group, consumer, claimIdleMs * 2])
      ).pipe(Effect.map((held) => ({ handedBack: held }))),
      forgetIdle: (idleMs) =>
        run("forgetIdle", () => forgetIdle<number>(client, [STREAM_KEY], [group, idleMs])).pipe(
          // A stream or group not created yet has no consumers to forget.
          Effect.catchIf(
            (error) => /NOGROUP|no such key/i.test(error.message),
            () => Effect.succeed(0)
          )
        ),
      health: Effect.gen(function* () {
        const length = yield* run("xlen", () => client.xlen(STREAM_KEY))
        // A Redis restarted without its data has no stream and no group until taps and a writer come back:
        // that is an empty pipeline with no consumers, not a failing Redis.
        const exists = length > 0 || (yield* run("exists", () => client.exists(STREAM_KEY))) === 1
        const groups = exists
          ? ((yield* run("groups", () => client.xinfo("GROUPS", prefixedStream))) as Array<Array<unknown>>)
          : []
        const info = groups.map(toRecord).find((info) => info.name === group)
        const [, oldest] =
          info === undefined
            ? [0, null]
            : ((yield* run("pending", () => client.xpending(STREAM_KEY, group))) as [number, string | null])
        // The first entry no writer has read yet: after the last delivered id.
        const lastDelivered = String(info?.["last-delivered-id"] ?? "0-0")
        const [unread] = (yield* run("unread", () =>
          client.xrange(STREAM_KEY, lastDelivered === "0-0" ? "-" : `(${lastDelivered}`, "+", "COUNT", 1)
        )) as Array<[string, Array<string>]>
        const ageOf = (id: string | null | undefined) =>
          id === null || id === undefined ? null : Math.max(0, Date.now() - Number(id.split("-")[0]))
        const ages = [ageOf(oldest), ageOf(unread?.[0])].filter((age): age is number => age !== null)
        return {
          streamLength: length,
          oldestUnstoredMs: ages.length === 0 ? null : Math.max(...ages),
          lag: Number(info?.lag ?? 0),
          pending: Number(info?.pending ?? 0),
          oldestPendingMs: ageOf(oldest),
          consumers: Number(info?.consumers ?? 0)
        } satisfies PipelineHealth
      })
    }
    return queue
  })

const toRecord = (flat: ReadonlyArray<unknown>): Record<string, unknown> => {
  const record: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1]
  return record
}

/** The id right after `id`, so MINID keeps nothing at or below an acknowledged entry. */
const nextId = (id: string) => {
  const [ms, seq] = id.split("-")
  return `${ms}-${Number(seq) + 1}`
}

const streamGauges = (client: RedisConnection, metrics: MetricsShape) =>
  Effect.gen(function* () {
    yield* gauge(metrics, {
      name: "tapline_stream_length",
      help: "Taps in the Redis Stream (stored or not yet; trimmed below the oldest unacknowledged)",
      read: () => client.xlen(STREAM_KEY)
    })
    const pendingSummary = () =>
      client.xpending(STREAM_KEY, WRITER_GROUP) as Promise<[number, string | null, ...Array<unknown>]>
    yield* gauge(metrics, {
      name: "tapline_stream_pending",
      help: "Taps read by a writer and not yet acknowledged (stored)",
      read: () => pendingSummary().then(([count]) => Number(count))
    })
    yield* gauge(metrics, {
      name: "tapline_stream_oldest_pending_age_seconds",
      help: "Age of the oldest tap read and not yet acknowledged; 0 when none",
      read: () =>
        pendingSummary().then(([, oldest]) =>
          oldest === null ? 0 : Math.max(0, (Date.now() - Number(oldest.split("-")[0])) / 1000)
        )
    })
  })

/** Stream ids compared as their (milliseconds, sequence) pairs. */
const compareIds = (a: string, b: string) => {
  const [aMs, aSeq] = a.split("-").map(Number)
  const [bMs, bSeq] = b.split("-").map(Number)
  return aMs! - bMs! || aSeq! - bSeq!
}

/** The lowest of the floors; none when a group has read nothing yet (it keeps everything). */
const lowest = (floors: ReadonlyArray<string | undefined>) => {
  let low: string | undefined
  for (const floor of floors) {
    if (floor === undefined) return undefined
    if (low === undefined || compareIds(floor, low) < 0) low = floor
  }
  return low
}

/**
 * The writers' queue as `TapQueue`, and any sink's through `TapQueues`; one record of sinks behind for all,
 * so the counter the metrics endpoint reads is the one the trims move.
 */
export const layer = Layer.scopedContext(
  Effect.gen(function* () {
    const behind = yield* SinkBehind.make
    const writers = yield* make(WRITER_GROUP, behind)
    const context = yield* Effect.context<Redis | AppConfig | Metrics>()
    return Context.make(TapQueue, writers).pipe(
      Context.add(TapQueues, { forGroup: (group) => Effect.provide(make(group, behind), context) }),
      Context.add(SinkBehind.SinksBehind, behind)
    )
  })
)
