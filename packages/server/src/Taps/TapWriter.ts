import * as Headers from "@effect/platform/Headers"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer, Option, type Tracer } from "effect"
import { Projector } from "../ReadModel/Projector.js"
import { Metrics } from "../Telemetry/Metrics.js"
import { AlwaysSample } from "../Telemetry/Tracing.js"
import * as TapConsumer from "./TapConsumer.js"
import { type Delivery, TapQueue } from "./TapQueue.js"
import type { TapRecord } from "./TapRecord.js"
import { mergeResults, refusal, type StoreResult, TapStore } from "./TapStore.js"
import { TapWriterStatus } from "./TapWriterStatus.js"

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
 * Moves taps from the `writers` group into PostgreSQL: take a batch, store it (idempotently), project the
 * bands that auto-assignment created, acknowledge. A batch is acknowledged only after its transaction
 * committed, so a crash in between redelivers it and the store's idempotency absorbs the repeat.
 */
export const make = Effect.gen(function* () {
  const queue = yield* TapQueue
  const tapStore = yield* TapStore
  const projector = yield* Projector
  const status = yield* TapWriterStatus
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
    })

  /*
   * The consume loop the sinks share (TapConsumer), with this process's writer status for readiness. Batches
   * in flight never deadlock: TapStore locks band rows in id order and inserts assigned bands sorted.
   */
  yield* TapConsumer.run({ label: "tap writer", queue, handle, status, trims: true })
})

export const layer = Layer.scopedDiscard(make)
