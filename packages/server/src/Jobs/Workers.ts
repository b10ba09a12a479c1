import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Jobs, type QueueOptions } from "./Jobs.js"

/** A recurring maintenance job: a few retries with backoff, one at a time in each process. */
export const maintenance: QueueOptions = {
  retryLimit: 3,
  retryDelaySeconds: 30,
  backoff: true,
  concurrency: 1
}

/**
 * A feature's background work, as a layer: `register` works the feature's queues and schedules its recurring
 * ones (UTC cron), in this process unless JOBS_ENABLED=false. Every instance may do this: the queue hands
 * each job to one of them. The feature keeps its queues, handlers and schedules beside it; `Jobs/` knows
 * none of them.
 */
export const layer = <E, R>(register: Effect.Effect<void, E, R>) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const config = yield* AppConfig
      if (config.jobs.enabled) yield* register
    })
  )

/**
 * Logs once the features' workers are registered (provide their layers under this one, so it is built after
 * them), naming the recurring queues.
 */
export const started = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (!config.jobs.enabled) return
    const schedules = yield* (yield* Jobs).schedules
    yield* Effect.logInfo("background jobs started").pipe(
      Effect.annotateLogs({ queues: schedules.map((schedule) => schedule.queue) })
    )
  })
)
