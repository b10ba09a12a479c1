import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi, WorkerApi } from "@tapline/domain"
import { liveness, readiness } from "./Readiness.js"

export const HealthHandlers = HttpApiBuilder.group(TaplineApi, "health", (handlers) =>
  handlers.handle("live", () => liveness).handle("ready", () => readiness)
)

/** The same probes for a worker process, which serves nothing else. */
export const WorkerHealthHandlers = HttpApiBuilder.group(WorkerApi, "health", (handlers) =>
  handlers.handle("live", () => liveness).handle("ready", () => readiness)
)
