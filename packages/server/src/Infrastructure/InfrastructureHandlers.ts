import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { requirePlatformAdmin } from "../Auth/Authorization.js"
import { Infrastructure } from "./Infrastructure.js"

/** Platform operators only: every endpoint asks for a platform ADMIN before the service runs. */
export const InfrastructureHandlers = HttpApiBuilder.group(TaplineApi, "infrastructure", (handlers) =>
  Effect.gen(function* () {
    const infrastructure = yield* Infrastructure
    const admin = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.zipRight(requirePlatformAdmin, effect)
    return handlers
      .handle("readModel", () => admin(infrastructure.readModel))
      .handle("rebuildReadModel", ({ urlParams }) =>
        admin(infrastructure.rebuildReadModel(urlParams.onlyStale))
      )
      .handle("pipeline", () => admin(infrastructure.pipeline))
      .handle("deadLetters", ({ urlParams }) => admin(infrastructure.deadLetters(urlParams)))
      .handle("redriveDeadLetters", ({ urlParams }) =>
        admin(infrastructure.redriveDeadLetters(urlParams.limit))
      )
      .handle("failedJobs", ({ urlParams }) => admin(infrastructure.failedJobs(urlParams)))
      .handle("retryJob", ({ path }) => admin(infrastructure.retryJob(path.jobId)))
  })
)
