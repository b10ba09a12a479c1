import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Duration, Effect, Layer, Option } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { dedicated, keyPrefixOf, Redis } from "../Redis/Redis.js"
import {
  type Delivery,
  type PipelineHealth,
  TapQueue,
  TapQueueError,
  type TapQueueShape
} from "./TapQueue.js"
import type { RecorderStats, TapRecord } from "./TapRecord.js"
import { TapRecorder, type TapRecorderShape } from "./TapRecorder.js"

// Every pipeline key carries the {taps} hash tag, so the append script may touch them all in Cluster mode.
export const STREAM_KEY = "{taps}:stream"
export const GROUP = "writers"

/*
 * Appends a batch in one round trip. Per tap: the duplicate check against the band's last tap time (tap
 * times, not arrival times, so a replayed spool judges the same) and XADD. The live counters arrive already
 * added up per batch (ARGV[3]): a handful of commands per batch instead of several per tap. Bots are neither
 * counted nor deduplicated.
 */
const APPEND = `
local prefix = ARGV[1]
local window = tonumber(ARGV[2])
local counters = cjson.decode(ARGV[3])
for i = 4, #ARGV do
  local tap = cjson.decode(ARGV[i])
  local dup = 0
  local org = tap.orgId
  if org == nil or org == cjson.null then org = tap.orgRef end
  if not tap.bot then
    local lastKey = prefix .. '{taps}:last:' .. org .. ':' .. tap.bandUid
    local last = tonumber(redis.call('GET', lastKey) or '-1')
    if last >= 0 and tap.at >= last and tap.at - last < window then dup = 1 end
    if tap.at > last then
      redis.call('SET', lastKey, string.format('%d', tap.at), 'PX', window + 60000)
    end
  end
  redis.call('XADD', KEYS[1], '*', 't', ARGV[i], 'd', dup)
end
for _, c in ipairs(counters) do
  local key = prefix .. '{taps}:live:' .. c[2]
  if c[1] == 's' then
    redis.call('INCRBY', key, c[3])
    redis.call('EXPIRE', key, 600)
  elseif c[1] == 'm' then
    redis.call('HINCRBY', key, c[3], c[4])
    redis.call('EXPIRE', key, 90000)
  else
    redis.call('PFADD', key, unpack(c, 3))
  end
end
return #ARGV - 3`

type CounterOp =
  | readonly ["s", string, number]
  | readonly ["m", string, string, number]
  | readonly ["u", string, ...Array<string>]

/** The live counters of a batch, added up: per event and second, per event and minute (total and mode), bands. */
export const liveCounterOps = (taps: ReadonlyArray<TapRecord>): ReadonlyArray<CounterOp> => {
  const byEvent = new Map<
    string,
    { seconds: Map<number, number>; minutes: Map<number, Map<string, number>>; bands: Set<string> }
  >()
  for (const tap of taps) {
    if (tap.bot || tap.eventId === null) continue
    let counts = byEvent.get(tap.eventId)
    if (counts === undefined) {
      counts = { seconds: new Map(), minutes: new Map(), bands: new Set() }
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
  }
  const ops: Array<CounterOp> = []
  for (const [eventId, counts] of byEvent) {
    for (const [second, n] of counts.seconds) ops.push(["s", `${eventId}:s:${second}`, n])
    for (const [minute, fields] of counts.minutes) {
      for (const [field, n] of fields) ops.push(["m", `${eventId}:m:${minute}`, field, n])
    }
    ops.push(["u", `${eventId}:uniq`, ...counts.bands])
  }
  return ops
}

const errorMessage = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/** The producer: bounded buffer, one appending fiber, a local spool while Redis is unreachable. */
export const makeRecorder = Effect.gen(function* () {
  const shared = yield* Redis
  // Taps are already batched; acquired before the flushing finalizer below, so it closes after the last flush.
  const client = yield* dedicated(shared, { autoPipelining: false })
  const { embedded, taps } = yield* AppConfig
  const prefix = keyPrefixOf(client)
  const windowMs = Duration.toMillis(taps.duplicateInterval)
  const spoolDir = Option.getOrElse(taps.spoolDir, () => Path.join(embedded.dataDir, "spool"))
  Fs.mkdirSync(spoolDir, { recursive: true })
  // One file per process, so two instances sharing a folder never interleave lines.
  const spoolFile = Path.join(spoolDir, `taps-${Os.hostname()}-${process.pid}.ndjson`)

  const buffer: Array<TapRecord> = []
  const stats = { overflowed: 0, appended: 0, spooled: 0, replayed: 0 }
  let wake: (() => void) | null = null

  const record = (tap: TapRecord) => {
    if (buffer.length >= taps.bufferMax) {
      stats.overflowed++
      return
    }
    buffer.push(tap)
    if (wake !== null) {
      const resume = wake
      wake = null
      resume()
    }
  }

  // defineCommand sends the script once and EVALSHA after that.
  if (!("taplineAppend" in client)) client.defineCommand("taplineAppend", { numberOfKeys: 1, lua: APPEND })
  const script = client as unknown as {
    taplineAppend: (key: string, ...args: Array<string | number>) => Promise<number>
  }

  const append = (taps: ReadonlyArray<TapRecord>, lines: ReadonlyArray<string>) =>
    Effect.tryPromise({
      try: () =>
        script.taplineAppend(STREAM_KEY, prefix, windowMs, JSON.stringify(liveCounterOps(taps)), ...lines),
      catch: (cause) => new TapQueueError({ operation: "append", message: errorMessage(cause), cause })
    })

  const spool = (lines: ReadonlyArray<string>) =>
    Effect.sync(() => {
      const fd = Fs.openSync(spoolFile, "a")
      try {
        Fs.writeSync(fd, `${lines.join("\n")}\n`)
        Fs.fsyncSync(fd)
      } finally {
        Fs.closeSync(fd)
      }
      stats.spooled += lines.length
    })

  // Uninterruptible: once taps leave the buffer they reach Redis or the spool, even during shutdown.
  const flushBatch = Effect.uninterruptible(
    Effect.suspend(() => {
      const batch = buffer.splice(0, taps.appendBatch)
      if (batch.length === 0) return Effect.void
      const lines = batch.map((tap) => JSON.stringify(tap))
      return append(batch, lines).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            stats.appended += lines.length
          })
        ),
        Effect.catchAll((error) =>
          Effect.logWarning("tap append failed; spooling to disk").pipe(
            Effect.annotateLogs({ taps: lines.length, error: error.message }),
            Effect.zipRight(spool(lines))
          )
        ),
        Effect.asVoid
      )
    })
  )

  const waitForTaps = Effect.async<void>((resume) => {
    if (buffer.length > 0) return resume(Effect.void)
    wake = () => resume(Effect.void)
    return Effect.sync(() => {
      wake = null
    })
  })

  // After the first tap arrives, linger a moment so one append carries many taps instead of one each.
  yield* Effect.forkScoped(
    Effect.forever(waitForTaps.pipe(Effect.zipRight(Effect.sleep("2 millis")), Effect.zipRight(flushBatch)))
  )

  /** Replays spool files (ours and any a previous process left) once Redis answers again. */
  const replay = Effect.gen(function* () {
    const files = Fs.readdirSync(spoolDir).filter(
      (name) => name.endsWith(".ndjson") || name.endsWith(".replay")
    )
    for (const name of files) {
      let file = Path.join(spoolDir, name)
      if (name.endsWith(".ndjson")) {
        // Claim the file by renaming it, so new spooling starts a fresh one.
        const claimed = `${file}.${Date.now()}.replay`
        Fs.renameSync(file, claimed)
        file = claimed
      }
      const lines = Fs.readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.length > 0)
      for (let i = 0; i < lines.length; i += taps.appendBatch) {
        const chunk = lines.slice(i, i + taps.appendBatch)
        yield* append(
          chunk.map((line) => JSON.parse(line) as TapRecord),
          chunk
        )
      }
      Fs.rmSync(file)
      stats.replayed += lines.length
      yield* Effect.logInfo("spooled taps replayed").pipe(Effect.annotateLogs({ taps: lines.length }))
    }
  })

  yield* Effect.forkScoped(
    Effect.forever(
      replay.pipe(
        Effect.catchAll(() => Effect.void),
        Effect.zipRight(Effect.sleep("1 second"))
      )
    )
  )

  // Shutdown: whatever is still buffered goes to Redis, or to the spool if Redis is down.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      while (buffer.length > 0) yield* flushBatch
    }).pipe(Effect.timeout("5 seconds"), Effect.ignore)
  )

  return {
    record,
    stats: (): RecorderStats => ({ buffered: buffer.length, ...stats })
  } satisfies TapRecorderShape
})

/** The consumer: one consumer of the `writers` group per process. */
export const makeQueue = Effect.gen(function* () {
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

  const ensureGroup = run("createGroup", () =>
    client.xgroup("CREATE", prefixedStream, GROUP, "0", "MKSTREAM").catch((error: Error) => {
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
              GROUP,
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
          client.xautoclaim(STREAM_KEY, GROUP, consumer, idleMs, "0-0", "COUNT", max) as Promise<
            [string, Array<[string, Array<string>] | null>]
          >
      ).pipe(
        Effect.tap((reply) => {
          const deleted = (reply as unknown as Array<unknown>)[2] as Array<string> | undefined
          return deleted !== undefined && deleted.length > 0
            ? Effect.logError("pending tap entries were deleted before they were stored").pipe(
                Effect.annotateLogs({ ids: deleted.slice(0, 20), count: deleted.length })
              )
            : Effect.void
        }),
        Effect.map((reply) => decode(reply[1] ?? []))
      ),
    ack: (ids) =>
      ids.length === 0
        ? Effect.void
        : run("ack", () => client.xack(STREAM_KEY, GROUP, ...ids)).pipe(Effect.asVoid),
    /*
     * Never MAXLEN: it ignores the group and would drop unread entries. Trim below the oldest unacknowledged
     * entry, or just past the last delivered one when nothing is pending. The last delivered id is read
     * first: entries a writer takes after that read are above it, and entries taken before it still show as
     * pending when XPENDING runs, so nothing delivered but unacknowledged is ever trimmed.
     */
    trim: Effect.gen(function* () {
      const groups = (yield* run("groups", () => client.xinfo("GROUPS", prefixedStream))) as Array<
        Array<unknown>
      >
      const lastDelivered = groups.map(toRecord).find((group) => group.name === GROUP)?.["last-delivered-id"]
      const [count, oldest] = (yield* run("pending", () => client.xpending(STREAM_KEY, GROUP))) as [
        number,
        string | null
      ]
      const boundary =
        count > 0 && oldest !== null
          ? oldest
          : typeof lastDelivered === "string" && lastDelivered !== "0-0"
            ? nextId(lastDelivered)
            : undefined
      if (boundary === undefined) return 0
      return yield* run("trim", () => client.xtrim(STREAM_KEY, "MINID", boundary))
    }),
    health: Effect.gen(function* () {
      const length = yield* run("xlen", () => client.xlen(STREAM_KEY))
      const groups = (yield* run("groups", () => client.xinfo("GROUPS", prefixedStream))) as Array<
        Array<unknown>
      >
      const info = groups.map(toRecord).find((group) => group.name === GROUP)
      const [, oldest] = (yield* run("pending", () => client.xpending(STREAM_KEY, GROUP))) as [
        number,
        string | null
      ]
      return {
        streamLength: length,
        lag: Number(info?.lag ?? 0),
        pending: Number(info?.pending ?? 0),
        oldestPendingMs: oldest === null ? null : Math.max(0, Date.now() - Number(oldest.split("-")[0])),
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

export const recorderLayer = Layer.scoped(TapRecorder, makeRecorder)
export const queueLayer = Layer.scoped(TapQueue, makeQueue)
