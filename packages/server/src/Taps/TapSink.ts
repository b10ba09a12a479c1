import { Effect, Layer } from "effect"
import * as TapConsumer from "./TapConsumer.js"
import { type Delivery, TapQueues, WRITER_GROUP } from "./TapQueue.js"
import { TapSinkStatuses } from "./TapSinkStatus.js"

/**
 * A remote system that gets every tap, beside the PostgreSQL writer (a broker, say): one file per sink, with
 * a name and a handler for a batch. The sink consumes its own consumer group, named after it, with the
 * writer's discipline: a batch is acknowledged once `handle` succeeds, retried whole while it fails, claimed
 * from a consumer that died, handed back at a stop. `handle` may see a batch twice (after a crash): it must
 * be idempotent, on tap id. A sink that falls TAP_STREAM_MAX_ENTRIES behind loses its oldest taps and is
 * marked behind (tapline_tap_sink_behind_total); the writer never waits for it. While its handler fails, the
 * sink is listed as failing (TapSinkStatus.ts: readiness, a gauge, an alert).
 */
export interface TapSink<R = never> {
  /** Its consumer group: stable, since a new name is a new group that starts from what the stream holds. */
  readonly name: string
  /** Its effect is run again when it fails (the same effect): read any state inside it, not when building it. */
  readonly handle: (delivery: Delivery) => Effect.Effect<void, unknown, R>
}

/** Runs the sink's consume loop for as long as the layer lives. */
export const layer = <R>(sink: TapSink<R>) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      if (sink.name === WRITER_GROUP)
        return yield* Effect.dieMessage(`"${WRITER_GROUP}" is the writer's group`)
      const queue = yield* (yield* TapQueues).forGroup(sink.name)
      const context = yield* Effect.context<R>()
      yield* TapConsumer.run({
        label: `tap sink ${sink.name}`,
        queue,
        handle: (delivery) => Effect.provide(sink.handle(delivery), context),
        status: yield* (yield* TapSinkStatuses).register(sink.name),
        // The writer's trimmer trims for every group.
        trims: false
      })
    })
  )
