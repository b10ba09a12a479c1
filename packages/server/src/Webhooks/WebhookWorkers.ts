import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Jobs, recurringQueue, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import { WebhookRepository } from "./WebhookRepository.js"

export const pruneQueue = recurringQueue("webhooks.prune")

/** Daily: removes the messages and delivery log past WEBHOOK_LOG_KEEP_DAYS (`Dispatcher.ts` delivers). */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const jobs = yield* Jobs
    const webhooks = yield* WebhookRepository
    yield* workQueue(jobs, pruneQueue, Workers.maintenance, () =>
      webhooks
        .prune(config.webhooks.keepDays)
        .pipe(
          Effect.tap((removed) =>
            removed > 0
              ? Effect.logInfo("webhook messages past their keeping removed").pipe(
                  Effect.annotateLogs({ removed })
                )
              : Effect.void
          )
        )
    )
    yield* jobs.schedule(pruneQueue.name, "7 4 * * *")
  })
).pipe(Layer.provide(WebhookRepository.Default))
