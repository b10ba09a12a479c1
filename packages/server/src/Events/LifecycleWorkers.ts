import { Effect, Layer } from "effect"
import { Jobs, recurringQueue, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import { EventLifecycle } from "./EventLifecycle.js"

export const lifecycleQueue = recurringQueue("events.lifecycle")

/**
 * Every minute: events that opted in go ACTIVE at their start and COMPLETED at their end, each move a change
 * through the unit of work (audit, outbox, read model), as `EventLifecycle.advance` makes it.
 */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const lifecycle = yield* EventLifecycle
    yield* workQueue(jobs, lifecycleQueue, Workers.maintenance, () => lifecycle.advance)
    yield* jobs.schedule(lifecycleQueue.name, "* * * * *")
  })
).pipe(Layer.provide(EventLifecycle.Default))
