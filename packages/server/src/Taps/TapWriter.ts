import * as Headers from "@effect/platform/Headers"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Data, Duration, Effect, Either, Fiber, Layer, Option, Schedule, type Tracer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Projector } from "../ReadModel/Projector.js"
import { Metrics } from "../Telemetry/Metrics.js"
import { AlwaysSample } from "../Telemetry/Tracing.js"
import { type Delivery, TapQueue } from "./TapQueue.js"
import type { TapRecord } from "./TapRecord.js"
import { mergeResults, refusal, type StoreResult, TapStore } from "./TapStore.js"
import { TapWriterStatus } from "./TapWriterStatus.js"

/** A defect of a batch (a connection dropped mid-transaction surfaces as one), made retryable. */
class WriterDefect extends Data.TaggedError("WriterDefect")<{ readonly message: string }> {}

/** A batch span linking thousands of redirects helps nobody; the first ones show the way. */
const MAX_LINKS = 128

/** Links to the redirect spans of the traced taps in a batch (the stream is data: a bad value is skipped). */
export const redirectLinks = (taps: ReadonlyArray<TapRecord>): Array<Tracer.SpanLink> => {
  const links: Array<Tracer.SpanLink> = []
  for (const tap of taps) {
    if (typeof tap.trace !== "string") continue
    const span = HttpTraceContext.w3c(Headers.fromInput({ traceparent: tap.trace }))
    if (Option.isNone(span)) continue
    links.push({ _tag: "SpanLink", span: span.value, attributes: { "tapline.tap_id": tap.id } })
    if (links.length === MAX_LINKS) break
  }
  return links
}

/**
 * Moves taps from the queue into PostgreSQL: take a batch, store it (idempotently), project the bands that
 * auto-assignment created, acknowledge. A batch is acknowledged only after its transaction committed, so a
 * crash in between redelivers it and the store's idempotency absorbs the repeat.
 */
export const make = Effect.gen(function* () {
  const queue = yield* TapQueue
  const tapStore = yield* TapStore
  const projector = yield* Projector
  const status = yield* TapWriterStatus
  const { taps } = yield* AppConfig
  const metrics = yield* Metrics

  /*
   * A batch PostgreSQL refuses is halved until the refused taps stand alone; those go to the dead letters,
   * the rest is stored. Each half is its own transaction and the store is idempotent, so a half stored
   * before a later failure is not stored twice when the whole delivery is retried.
   */
  const storeIsolating = (batch: ReadonlyArray<TapRecord>): Effect.Effect<StoreResult, SqlError> =>
    tapStore.store(batch).pipe(
      Effect.catchIf(
        (error) => refusal(error) !== null,
        (error) => {
          if (batch.length > 1) {
            const half = Math.ceil(batch.length / 2)
            return Effect.map(
              Effect.all([storeIsolating(batch.slice(0, half)), storeIsolating(batch.slice(half))]),
              mergeResults
            )
          }
          const reason = refusal(error)!
          metrics.deadLetteredTaps.inc()
          return tapStore.deadLetter(batch[0]!, reason).pipe(
            Effect.zipRight(
              Effect.logError("tap refused by PostgreSQL; kept in tap_dead_letters").pipe(
                Effect.annotateLogs({
                  tapId: batch[0]!.id,
                  sqlstate: reason.sqlstate,
                  error: reason.message
                })
              )
            ),
            Effect.as<StoreResult>({ inserted: 0, assigned: new Map(), unattributable: [] })
          )
        }
      )
    )

  /*
   * One span per stored batch, linked to the redirects it stores that were traced: a tap's trace goes on
   * from its redirect to the batch (and its SQL) that stored it. Recorded whenever such a link exists.
   */
  const handle = (delivery: Delivery) => {
    if (delivery.ids.length === 0) return Effect.void
    const links = redirectLinks(delivery.taps)
    return store(delivery).pipe(
      Effect.withSpan("TapWriter.batch", {
        kind: "consumer",
        links,
        attributes: { "tapline.batch.taps": delivery.taps.length, "tapline.batch.traced_taps": links.length },
        context: links.length > 0 ? Context.make(AlwaysSample, true) : Context.empty()
      })
    )
  }

  const store = (delivery: Delivery) =>
    Effect.gen(function* () {
      if (delivery.malformed > 0) {
        yield* Effect.logError(
          "malformed tap entries cannot be decoded; acknowledged and dropped, nothing to store"
        ).pipe(Effect.annotateLogs({ count: delivery.malformed }))
      }
      const started = performance.now()
      const result = yield* storeIsolating(delivery.taps).pipe(
        Effect.tapError(() => Effect.sync(() => metrics.writerFailures.inc()))
      )
      metrics.writerBatchSeconds.observe((performance.now() - started) / 1000)
      metrics.writerBatchSize.observe(delivery.taps.length)
      let newest = 0
      let duplicates = 0
      for (const tap of delivery.taps) {
        newest = Math.max(newest, tap.at)
        if (tap.dup) duplicates++
      }
      metrics.duplicateTaps.inc(duplicates)
      if (newest > 0) metrics.storeLag.observe(Math.max(0, Date.now() - newest) / 1000)
      // Served the default URL during an outage for an organisation that does not exist: kept, not counted.
      metrics.deadLetteredTaps.inc(result.unattributable.length)
      for (const tap of result.unattributable) {
        yield* tapStore.deadLetter(tap, {
          message: `unknown organisation (${tap.orgRef ?? "no reference"})`,
          sqlstate: null
        })
      }
      if (result.unattributable.length > 0) {
        yield* Effect.logWarning("taps for an unknown organisation kept in tap_dead_letters").pipe(
          Effect.annotateLogs({ count: result.unattributable.length })
        )
      }
      for (const [orgId, uids] of result.assigned) yield* projector.bands(orgId, uids)
      yield* queue.ack(delivery.ids)
    })

  const backoff = Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))

  /*
   * Supervised: any failure of a step, error or defect, marks the loop failing (readiness says so) and the
   * step is retried with backoff for as long as it takes. A delivery that failed is retried itself, not
   * replaced by a new read: its entries stay pending on this consumer and would otherwise wait for the
   * claimer. The first failure of a streak is an ERROR, then one every 30 s while it lasts, and the
   * recovery is said too. Interruption is not a failure and is not retried; loops end only with the scope.
   */
  const supervised = (name: string) => {
    let lastLogged = 0
    const failed = (error: unknown) =>
      Effect.suspend(() => {
        const message = errorText(error)
        const first = status.failed(name, message)
        if (!first && Date.now() - lastLogged < 30_000) return Effect.void
        lastLogged = Date.now()
        return Effect.logError(
          first
            ? `tap writer ${name} failed; taps wait in the stream, retrying with backoff`
            : `tap writer ${name} still failing; taps wait in the stream, retrying with backoff`
        ).pipe(Effect.annotateLogs({ error: message, failingForMs: status.snapshot().failingSinceMs }))
      })
    const succeeded = Effect.suspend(() =>
      status.succeeded(name) ? Effect.logInfo(`tap writer ${name} recovered`) : Effect.void
    )
    return <A>(step: Effect.Effect<A, unknown>): Effect.Effect<A> =>
      step.pipe(
        Effect.catchAllDefect((defect) =>
          Effect.fail(new WriterDefect({ message: `defect: ${errorText(defect)}` }))
        ),
        Effect.tapError(failed),
        Effect.retry(backoff),
        Effect.tap(() => succeeded),
        Effect.orDie
      )
  }

  /** Read with `read`, then store and acknowledge what was read, each retried on its own. */
  const consume = (name: string, read: Effect.Effect<Delivery, unknown>) => {
    const attempt = supervised(name)
    return Effect.flatMap(attempt(read), (delivery) => Effect.as(attempt(handle(delivery)), delivery))
  }

  /*
   * `TAP_WRITER_CONCURRENCY` batches in flight, each read on its own connection and stored in its own
   * transaction, so PostgreSQL works on one while the next is read and decoded. Batches never deadlock:
   * TapStore locks band rows in id order and inserts assigned bands sorted. A read is never cut short (what
   * XREADGROUP delivers is this consumer's even if nobody waits for it); a stop lets each loop finish the
   * batch it holds and read no more.
   */
  let stopping = false
  const take = Effect.uninterruptible(queue.take(taps.writerBatch))
  const batches = yield* Effect.forEach(Array.from({ length: taps.writerConcurrency }), (_, i) =>
    Effect.forkScoped(
      Effect.whileLoop({
        while: () => !stopping,
        body: () => consume(`batch ${i + 1}`, take),
        step: () => {}
      })
    )
  )
  // Entries a dead writer left: claimed back to back while there are full batches of them, else every 5 s.
  // Writers gone for good are forgotten once their entries are claimed and they have been idle a while.
  const claimIdleMs = Duration.toMillis(taps.claimIdle)
  const claimed = consume("claim", queue.claim(claimIdleMs, taps.writerBatch))
  const forget = supervised("forget")(queue.forgetIdle(forgetAfterMs(claimIdleMs)))
  const claimer = yield* Effect.forkScoped(
    Effect.forever(
      Effect.flatMap(claimed, (delivery) =>
        delivery.ids.length >= taps.writerBatch
          ? Effect.void
          : Effect.zipRight(forget, Effect.sleep("5 seconds"))
      )
    )
  )
  const trim = supervised("trim")(queue.trim)
  const trimmer = yield* Effect.forkScoped(Effect.forever(Effect.zipRight(trim, Effect.sleep("5 seconds"))))

  /*
   * A graceful stop (added after the loops, so it runs before they are interrupted): the batches in hand are
   * stored within a share of SHUTDOWN_TIMEOUT; whatever this writer still holds then (PostgreSQL down, a
   * batch too slow) is handed back for another writer to claim at once, and a writer holding nothing leaves
   * the consumer group. Before, the entries waited TAP_CLAIM_IDLE for a claimer and the group kept every
   * consumer that ever was.
   */
  const { server } = yield* AppConfig
  const finishWithin = Duration.unsafeDivide(
    Duration.subtract(server.shutdownTimeout, taps.role === "worker" ? Duration.zero : server.drainDelay),
    3
  )
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      stopping = true
      const finished = yield* Fiber.awaitAll(batches).pipe(Effect.timeoutOption(finishWithin))
      yield* Fiber.interruptAll([...batches, claimer, trimmer])
      const released = yield* Effect.either(queue.release)
      yield* Either.match(released, {
        onLeft: (error) =>
          Effect.logWarning("tap writer stopped; its entries wait for another writer's claimer").pipe(
            Effect.annotateLogs({ error: error.message })
          ),
        onRight: ({ handedBack }) =>
          handedBack === 0
            ? Effect.logInfo("tap writer stopped; every batch it read is stored")
            : Effect.logWarning(
                "tap writer stopped with batches unstored; handed back to the other writers"
              ).pipe(Effect.annotateLogs({ taps: handedBack, finished: Option.isSome(finished) }))
      })
    })
  )
  status.started()
  yield* Effect.logInfo("tap writer started")
})

/** A consumer idle this long and holding nothing is a writer gone for good (a live one reads every second). */
const forgetAfterMs = (claimIdleMs: number) => Math.max(10 * claimIdleMs, 60_000)

const errorText = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error) {
    const message = String((error as { message: unknown }).message)
    const cause = (error as { cause?: { message?: unknown } }).cause?.message
    return typeof cause === "string" && cause !== message ? `${message}: ${cause}` : message
  }
  return String(error)
}

export const layer = Layer.scopedDiscard(make)
