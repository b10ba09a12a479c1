import { HttpApiBuilder } from "@effect/platform"
import { ServiceUnavailable, TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { Projector } from "../ReadModel/Projector.js"
import { TapQueue } from "../Taps/TapQueue.js"
import { TapRecorder } from "../Taps/TapRecorder.js"

export const InfrastructureHandlers = HttpApiBuilder.group(TaplineApi, "infrastructure", (handlers) =>
  Effect.gen(function* () {
    const projector = yield* Projector
    const queue = yield* TapQueue
    const recorder = yield* TapRecorder
    return handlers
      .handle("readModel", () => projector.status.pipe(Effect.orDie))
      .handle("pipeline", () =>
        queue.health.pipe(
          Effect.map((health) => ({ ...health, recorder: recorder.stats() })),
          Effect.catchAll((error) =>
            Effect.logWarning("pipeline health unavailable", error).pipe(
              Effect.zipRight(new ServiceUnavailable({ checks: { redis: "failing" } }))
            )
          )
        )
      )
  })
)
