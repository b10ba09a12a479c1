import { Effect, Layer } from "effect"
import { Jobs, recurringQueue, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import { TrashPurge, TrashPurgeLive } from "./TrashPurge.js"

export const trashPurgeQueue = recurringQueue("trash.purge")

/** Hourly: purges the trash kept past TRASH_RETENTION. */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const trash = yield* TrashPurge
    yield* workQueue(jobs, trashPurgeQueue, Workers.maintenance, () => trash.run)
    yield* jobs.schedule(trashPurgeQueue.name, "37 * * * *")
  })
).pipe(Layer.provide(TrashPurgeLive))
