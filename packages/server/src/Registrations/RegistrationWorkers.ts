import { Effect, Layer } from "effect"
import { Jobs, recurringQueue, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import { keepDays } from "./RegistrationConfig.js"
import { RegistrationRepository } from "./RegistrationRepository.js"

export const pruneQueue = recurringQueue("registrations.prune")

/** Daily: removes dead letters and processed-message ids past REGISTRATION_KEEP_DAYS. */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const days = yield* keepDays
    const jobs = yield* Jobs
    const repository = yield* RegistrationRepository
    yield* workQueue(jobs, pruneQueue, Workers.maintenance, () =>
      repository
        .prune(days)
        .pipe(
          Effect.tap((removed) =>
            Effect.logInfo("registration dead letters and message ids past their keeping removed").pipe(
              Effect.annotateLogs(removed)
            )
          )
        )
    )
    yield* jobs.schedule(pruneQueue.name, "17 4 * * *")
  })
).pipe(Layer.provide(RegistrationRepository.Default))
