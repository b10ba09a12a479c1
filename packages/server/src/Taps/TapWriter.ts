import { Duration, Effect, Layer, Schedule } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Projector } from "../ReadModel/Projector.js"
import { type Delivery, TapQueue } from "./TapQueue.js"
import { TapStore } from "./TapStore.js"

/**
 * Moves taps from the queue into PostgreSQL: take a batch, store it (idempotently), project the bands that
 * auto-assignment created, acknowledge. A batch is acknowledged only after its transaction committed, so a
 * crash in between redelivers it and the store's idempotency absorbs the repeat.
 */
export const make = Effect.gen(function* () {
  const queue = yield* TapQueue
  const tapStore = yield* TapStore
  const projector = yield* Projector
  const { taps } = yield* AppConfig

  const handle = (delivery: Delivery) =>
    Effect.gen(function* () {
      if (delivery.ids.length === 0) return
      if (delivery.malformed > 0) {
        yield* Effect.logError("malformed tap entries acknowledged without storing").pipe(
          Effect.annotateLogs({ count: delivery.malformed })
        )
      }
      const result = yield* tapStore.store(delivery.taps)
      for (const [orgId, uids] of result.assigned) yield* projector.bands(orgId, uids)
      yield* queue.ack(delivery.ids)
    })

  const retry = Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))

  const loop = (name: string, step: Effect.Effect<unknown, unknown>) =>
    step.pipe(
      Effect.tapErrorCause((cause) => Effect.logWarning(`tap writer ${name} failed; retrying`, cause)),
      Effect.retry(retry),
      Effect.forever,
      Effect.forkScoped
    )

  /*
   * `TAP_WRITER_CONCURRENCY` batches in flight, each read on its own connection and stored in its own
   * transaction, so PostgreSQL works on one while the next is read and decoded. Batches never deadlock:
   * TapStore locks band rows in id order and inserts assigned bands sorted.
   */
  for (let i = 0; i < taps.writerConcurrency; i++) {
    yield* loop("batch", Effect.flatMap(queue.take(taps.writerBatch), handle))
  }
  yield* loop(
    "claim",
    Effect.flatMap(queue.claim(Duration.toMillis(taps.claimIdle), taps.writerBatch), handle).pipe(
      Effect.zipRight(Effect.sleep("5 seconds"))
    )
  )
  yield* loop("trim", queue.trim.pipe(Effect.zipRight(Effect.sleep("5 seconds"))))
  yield* Effect.logInfo("tap writer started")
})

export const layer = Layer.scopedDiscard(make)
