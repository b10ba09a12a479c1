import * as Fs from "node:fs"
import * as Path from "node:path"
import { Duration, Effect, Layer, Option } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { dedicated, keyPrefixOf, Redis } from "../Redis/Redis.js"
import { counterFrom, gauge, labelledCounterFrom, Metrics } from "../Telemetry/Metrics.js"
import * as AppendScript from "./AppendScript.js"
import type { Segment } from "./TapJournal.js"
import * as TapJournal from "./TapJournal.js"
import * as TapMemoryTier from "./TapMemoryTier.js"
import type { RecorderStats, TapRecord } from "./TapRecord.js"
import { TapRecorder, type TapRecorderShape } from "./TapRecorder.js"
import * as Waker from "./Waker.js"

/** A segment is sealed after this many taps or this long, so a restart replays little of what was appended. */
const SEGMENT_TAPS = 5_000
const SEGMENT_MS = 2_000
/** How often taps held in memory (the journal refused them) are offered again while nothing takes them. */
const HELD_RETRY_MS = 250
/** At most one ERROR this often about the journal, with the counts since the last one. */
const REPORT_MS = 10_000

interface Buffered {
  readonly tap: TapRecord
  readonly line: string
  readonly segment: Segment
}

/**
 * The producer. `record` writes the tap to the journal (one write(2), before the 302 is sent) and, while
 * Redis answers, keeps it in a bounded buffer that one fiber appends to the stream in batches. While Redis is
 * unreachable (or appends fall behind and the buffer fills) taps go to the journal only, and the replayer
 * appends those segments from disk once Redis answers. Nothing waits on Redis's reconnect attempts.
 *
 * When the journal cannot write (a full disk), the attendee still gets the 302 and the tap waits in memory
 * (TAP_MEMORY_BUFFER_MAX, in order): it goes to Redis while Redis answers, else to the journal once the disk
 * takes writes again. Readiness fails meanwhile, so a balancer sends taps elsewhere. Refusing the redirect
 * would not keep the tap either, and the attendee at the gate would get an error page; past the bound a tap
 * is lost, counted (tapline_taps_lost_total) and said at ERROR.
 */
export const makeRecorder = Effect.gen(function* () {
  const shared = yield* Redis
  // Taps are already batched; acquired before the flushing finalizer below, so it closes after the last flush.
  const client = yield* dedicated(shared, { autoPipelining: false })
  const { embedded, taps } = yield* AppConfig
  const prefix = keyPrefixOf(client)
  const windowMs = Duration.toMillis(taps.duplicateInterval)
  const journalDir = Option.getOrElse(taps.spoolDir, () => Path.join(embedded.dataDir, "spool"))
  const journal = TapJournal.open(journalDir)

  const buffer: Array<Buffered> = []
  const stats = { overflowed: 0, appended: 0, spooled: 0, replayed: 0 }
  // Taps the journal refused, in the order served; how many ever went there; those lost, by why.
  const held = TapMemoryTier.make(taps.memoryBufferMax)
  let heldTotal = 0
  const lost = { memory_full: 0, shutdown: 0 }
  const lostTotal = () => lost.memory_full + lost.shutdown
  // Whether the journal's last write succeeded: readiness fails while it does not.
  let journalOk = true
  const waker = Waker.make()

  // Connected now rather than on the first command (the connection is lazy): `ready` is judged by its status.
  // A Redis that is down at start is retried by the client in the background; the journal holds taps meanwhile.
  yield* Effect.promise(() => client.connect().catch(() => undefined))
  const ready = () => client.status === "ready"

  /*
   * The journal write of this turn of the event loop, and the responses waiting on it. setImmediate runs
   * after every request the turn's I/O delivered, so one write covers them all.
   */
  let turn: Array<{ readonly tap: TapRecord; readonly line: string }> = []
  let durable: Array<() => void> = []
  let flushScheduled = false

  const wakeUp = waker.wake

  /** A tap now in the journal: also to the stream from memory, unless its segment is left to the replayer. */
  const route = (entry: { readonly tap: TapRecord; readonly line: string }, segment: Segment) => {
    // Journal-only while its segment is marked for replay: the replayer appends the whole file.
    if (segment.replay) {
      stats.spooled++
      return
    }
    if (buffer.length >= taps.bufferMax) {
      stats.overflowed++
      journal.markForReplay(segment)
      stats.spooled++
      return
    }
    buffer.push({ ...entry, segment })
    wakeUp()
  }

  /** Taps the journal did not take: held in memory, as many as the bound allows; the rest are lost. */
  const hold = (entries: ReadonlyArray<{ readonly line: string }>) => {
    const refused = held.push(entries.map((entry) => entry.line))
    heldTotal += entries.length - refused
    lost.memory_full += refused
    // Redis takes them at once; otherwise the next retry comes on its own (not one failed write per turn).
    if (ready()) wakeUp()
  }

  const flushJournal = () => {
    flushScheduled = false
    const entries = turn
    turn = []
    if (entries.length > 0) {
      // Behind the taps already held, so the stream gets them in the order they were served.
      if (held.size() > 0) hold(entries)
      else {
        let segment = journal.current()
        for (const entry of entries) segment = journal.enqueue(entry.line)
        journalOk = journal.flush()
        if (journalOk) for (const entry of entries) route(entry, segment)
        else hold(entries)
      }
    }
    const waiting = durable
    durable = []
    // Each answers its own request; one failing must not keep the others' 302s.
    for (const release of waiting) {
      try {
        release()
      } catch {
        // The hot path's own guard has already answered and logged it.
      }
    }
  }

  const record = (tap: TapRecord, onDurable?: () => void) => {
    turn.push({ tap, line: JSON.stringify(tap) })
    if (onDurable !== undefined) durable.push(onDurable)
    if (!flushScheduled) {
      flushScheduled = true
      setImmediate(flushJournal)
    }
  }

  const append = AppendScript.make(client, { prefix, windowMs })

  /** Their segments are replayed from disk: the taps are not lost, only delayed. */
  const leaveToJournal = (batch: ReadonlyArray<Buffered>) => {
    for (const entry of batch) journal.markForReplay(entry.segment)
    stats.spooled += batch.length
  }

  const acknowledge = (batch: ReadonlyArray<Buffered>) => {
    const bySegment = new Map<Segment, number>()
    for (const entry of batch) bySegment.set(entry.segment, (bySegment.get(entry.segment) ?? 0) + 1)
    for (const [segment, count] of bySegment) journal.acked(segment, count)
    stats.appended += batch.length
  }

  let lastWarning = 0
  const warnOnce = (message: string, annotations: Record<string, unknown>) =>
    Effect.suspend(() => {
      if (Date.now() - lastWarning < 10_000) return Effect.void
      lastWarning = Date.now()
      return Effect.logWarning(message).pipe(Effect.annotateLogs(annotations))
    })

  // Uninterruptible: once taps leave the buffer they reach Redis or are left to the journal, even at shutdown.
  const flushBatch = Effect.uninterruptible(
    Effect.suspend(() => {
      if (!ready()) {
        // Redis is down: do not wait through reconnects. The journal holds these taps already.
        const batch = buffer.splice(0, buffer.length)
        journal.markForReplay(journal.current())
        leaveToJournal(batch)
        return batch.length === 0
          ? Effect.void
          : warnOnce("Redis unreachable; taps wait in the journal", {
              taps: batch.length,
              journal: journalDir
            })
      }
      const batch = buffer.splice(0, taps.appendBatch)
      if (batch.length === 0) return Effect.void
      return append(
        batch.map((entry) => entry.tap),
        batch.map((entry) => entry.line)
      ).pipe(
        Effect.matchEffect({
          onSuccess: () => Effect.sync(() => acknowledge(batch)),
          onFailure: (error) =>
            Effect.sync(() => leaveToJournal(batch)).pipe(
              Effect.zipRight(
                warnOnce("tap append failed; taps wait in the journal", {
                  taps: batch.length,
                  error: error.message
                })
              )
            )
        })
      )
    })
  )

  /** Held taps back to the journal, a thousand a write, while the disk takes them (Redis is down). */
  const heldToJournal = () => {
    while (held.size() > 0) {
      const lines = held.peek(1_000)
      for (const line of lines) journal.enqueue(line)
      journalOk = journal.flush()
      if (!journalOk) return
      journal.markForReplay(journal.current())
      held.drop(lines.length)
      stats.spooled += lines.length
    }
  }

  /** Held taps go to Redis while it answers, else back to the journal: whichever comes back first. */
  const drainHeld: Effect.Effect<void> = Effect.uninterruptible(
    Effect.suspend(() => {
      if (held.size() === 0) return Effect.void
      if (!ready()) return Effect.sync(heldToJournal)
      const lines = held.peek(taps.appendBatch)
      return append(
        lines.map((line) => JSON.parse(line) as TapRecord),
        lines
      ).pipe(
        Effect.matchEffect({
          onSuccess: () =>
            Effect.sync(() => {
              held.drop(lines.length)
              stats.appended += lines.length
            }).pipe(Effect.zipRight(drainHeld)),
          onFailure: () => Effect.sync(heldToJournal)
        })
      )
    })
  )

  /*
   * Housekeeping between flushes: a segment is sealed when full or old, so appended segments can be removed;
   * a segment marked for replay is sealed as soon as Redis answers and the buffer has room, so new taps go
   * through memory again. Disk failures and drops are said at ERROR: they are the only way a tap is lost.
   */
  let reported = { at: 0, lost: 0, held: 0 }
  const housekeeping = Effect.suspend(() => {
    const segment = journal.current()
    const full = segment.written >= SEGMENT_TAPS || Date.now() - segment.openedAt >= SEGMENT_MS
    if (full || (segment.replay && ready() && buffer.length < taps.bufferMax / 2)) journal.rotate()
    // Nothing to write, yet the last write failed: a blank line (the replay skips it) tells when it works.
    if (!journalOk && held.size() === 0 && turn.length === 0) journalOk = journal.probe()
    return report
  })

  /*
   * The only ways a served tap is at risk are said at ERROR with counts: taps held in memory because the
   * journal cannot write, and taps lost because memory was full too. Once every REPORT_MS at most.
   */
  const report = Effect.suspend(() => {
    const newlyLost = lostTotal() - reported.lost
    const holding = held.size()
    if (journalOk && newlyLost === 0 && holding === 0) {
      if (reported.held === 0) return Effect.void
      reported = { at: Date.now(), lost: lostTotal(), held: 0 }
      return Effect.logInfo("the tap journal writes again; no tap waits in memory").pipe(
        Effect.annotateLogs({ journal: journalDir, tapsHeldSinceStart: heldTotal })
      )
    }
    if (Date.now() - reported.at < REPORT_MS) return Effect.void
    reported = { at: Date.now(), lost: lostTotal(), held: Math.max(holding, 1) }
    return Effect.logError(
      newlyLost > 0
        ? "taps lost: the tap journal cannot be written and the memory buffer is full; newer taps are lost too until the disk or Redis takes the held ones"
        : "the tap journal cannot be written; taps wait in memory for Redis or the disk"
    ).pipe(
      Effect.annotateLogs({
        journal: journalDir,
        error: journal.lastError(),
        tapsInMemory: holding,
        memoryBufferMax: taps.memoryBufferMax,
        tapsLost: newlyLost,
        tapsLostSinceStart: lostTotal()
      })
    )
  })

  const waitForTaps = Effect.async<void>((resume) => {
    if (buffer.length > 0) return resume(Effect.void)
    // Housekeeping runs at least this often even without taps; held taps are offered again sooner.
    const cancel = waker.wait(held.size() > 0 ? HELD_RETRY_MS : SEGMENT_MS, () => resume(Effect.void))
    return Effect.sync(cancel)
  })

  const metrics = yield* Metrics
  yield* gauge(metrics, {
    name: "tapline_recorder_buffered_taps",
    help: "Taps in memory waiting for the next append to the stream",
    read: () => Promise.resolve(buffer.length)
  })
  yield* gauge(metrics, {
    name: "tapline_journal_segments",
    help: "Journal segments on disk that may hold taps the stream does not have yet (the spool)",
    read: () => Promise.resolve(journal.stats().segments)
  })
  yield* counterFrom(metrics, {
    name: "tapline_taps_spooled_total",
    help: "Taps left to the journal because Redis did not take them (appended later from disk)",
    read: () => stats.spooled
  })
  yield* counterFrom(metrics, {
    name: "tapline_taps_replayed_total",
    help: "Taps appended to the stream from the journal",
    read: () => stats.replayed
  })
  yield* gauge(metrics, {
    name: "tapline_recorder_memory_taps",
    help: "Taps the journal could not write (a full disk), held in memory until Redis or the journal takes them",
    read: () => Promise.resolve(held.size())
  })
  yield* counterFrom(metrics, {
    name: "tapline_taps_held_in_memory_total",
    help: "Taps the journal could not write, held in memory instead",
    read: () => heldTotal
  })
  yield* labelledCounterFrom(metrics, {
    name: "tapline_taps_lost_total",
    help: "Served taps lost, by reason: memory_full (journal failing and TAP_MEMORY_BUFFER_MAX reached), shutdown (held in memory when the process stopped)",
    label: "reason",
    read: () => lost
  })

  // After the first tap arrives, linger a moment so one append carries many taps instead of one each.
  yield* Effect.forkScoped(
    Effect.forever(
      waitForTaps.pipe(
        Effect.zipRight(Effect.sleep("2 millis")),
        Effect.zipRight(flushBatch),
        Effect.zipRight(drainHeld),
        Effect.zipRight(housekeeping)
      )
    )
  )

  /** Appends segments marked for replay, and those of processes that are gone, once Redis answers. */
  const replay = Effect.gen(function* () {
    if (!ready()) return
    for (const { file, done } of journal.replayable()) {
      const lines = Fs.readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.length > 0)
      let replayed = 0
      // Parsed a batch at a time, between appends: a whole segment at once held the event loop ~15 ms.
      for (let i = 0; i < lines.length; i += taps.appendBatch) {
        const chunk: Array<{ tap: TapRecord; line: string }> = []
        for (const line of lines.slice(i, i + taps.appendBatch)) {
          try {
            chunk.push({ tap: JSON.parse(line) as TapRecord, line })
          } catch {
            // A line cut short by a full disk or a crash mid-write: there is nothing to recover from it.
            yield* Effect.logError(
              "an unreadable line in the tap journal (cut short by a crash or a full disk); skipped, the rest is replayed"
            ).pipe(Effect.annotateLogs({ file }))
          }
        }
        if (chunk.length === 0) continue
        yield* append(
          chunk.map((record) => record.tap),
          chunk.map((record) => record.line)
        )
        replayed += chunk.length
      }
      done()
      stats.replayed += replayed
      yield* Effect.logInfo("journaled taps replayed").pipe(Effect.annotateLogs({ taps: replayed, file }))
    }
  })

  /*
   * The replayer must outlive anything a pass throws: it is the only way journaled taps reach the stream.
   * Once, a defect (a file another process had just replayed and removed) ended it for good, and every tap
   * that process journaled afterwards stayed on disk (the faults durability test, 1 014 taps).
   */
  let replayFailures = 0
  yield* Effect.forkScoped(
    Effect.forever(
      replay.pipe(
        Effect.tap(() => Effect.sync(() => (replayFailures = 0))),
        Effect.catchAllCause((cause) =>
          ++replayFailures === 1 || replayFailures % 30 === 0
            ? Effect.logError("replaying the tap journal failed; retrying").pipe(
                Effect.annotateLogs({ journal: journalDir, attempts: replayFailures }),
                Effect.zipRight(Effect.logDebug(cause))
              )
            : Effect.void
        ),
        Effect.zipRight(Effect.sleep("1 second"))
      )
    )
  )

  /*
   * Shutdown: what is buffered goes to Redis while it answers; the journal keeps the rest for the next start.
   * Taps held in memory go to Redis or the journal if either takes them; what neither takes is lost, and said.
   */
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      flushJournal()
      while (buffer.length > 0) yield* flushBatch
      yield* drainHeld
    }).pipe(
      Effect.timeout("5 seconds"),
      Effect.ignore,
      Effect.ensuring(
        Effect.suspend(() => {
          journal.close()
          const left = held.size()
          if (left === 0) return Effect.void
          lost.shutdown += left
          held.drop(left)
          return Effect.logError(
            "taps lost at shutdown: neither the journal nor Redis took the taps held in memory; they are gone, counted in tapline_taps_lost_total"
          ).pipe(Effect.annotateLogs({ journal: journalDir, tapsLost: left }))
        })
      )
    )
  )

  return {
    record,
    stats: (): RecorderStats => ({
      buffered: buffer.length,
      ...stats,
      dropped: lostTotal(),
      held: held.size(),
      journal: journalOk ? "ok" : "failing",
      journalSegments: journal.stats().segments
    })
  } satisfies TapRecorderShape
})

export const layer = Layer.scoped(TapRecorder, makeRecorder)
