import { Effect, Layer } from "effect"
import { Jobs, recurringQueue, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import { Storage } from "../Storage/Storage.js"
import { UploadRepository } from "./UploadRepository.js"
import { expireUploads } from "./Uploads.js"

export const expiryQueue = recurringQueue("uploads.expire")

/** Hourly: removes uploads a day old and objects no upload accounts for. */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const uploads = yield* UploadRepository
    const storage = yield* Storage
    yield* workQueue(jobs, expiryQueue, Workers.maintenance, () =>
      expireUploads.pipe(
        Effect.provideService(UploadRepository, uploads),
        Effect.provideService(Storage, storage)
      )
    )
    yield* jobs.schedule(expiryQueue.name, "53 * * * *")
  })
).pipe(Layer.provide(UploadRepository.Default))
