import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { Jobs, recurringQueue, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import { backfillDevices } from "./DeviceBackfill.js"
import { rollupDirtyHours } from "./Rollups.js"

export const rollupQueue = recurringQueue("analytics.rollup")

/** Classifies the devices of taps stored before migration 0016. */
export const devicesQueue = recurringQueue("taps.devices")

/** Every minute: the hourly rollups of the hours taps touched, and the devices of earlier taps. */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const sql = yield* SqlClient.SqlClient
    // Rolls up until no dirty hour is left, so a backlog clears within one run.
    yield* workQueue(jobs, rollupQueue, Workers.maintenance, () =>
      rollupDirtyHours().pipe(
        Effect.repeat({ until: (rolled) => rolled === 0 }),
        Effect.provideService(SqlClient.SqlClient, sql)
      )
    )
    // Batch after batch until no tap is left without a device: a backlog of 10 M clears within one run.
    yield* workQueue(jobs, devicesQueue, Workers.maintenance, () =>
      backfillDevices().pipe(
        Effect.tap(({ batches, classified }) =>
          classified > 0
            ? Effect.logInfo("devices of earlier taps classified").pipe(
                Effect.annotateLogs({ classified, batches })
              )
            : Effect.void
        ),
        Effect.provideService(SqlClient.SqlClient, sql)
      )
    )
    yield* jobs.schedule(rollupQueue.name, "* * * * *")
    // Finds nothing (one probe of an empty partial index) once the taps stored before 0016 are classified.
    yield* jobs.schedule(devicesQueue.name, "* * * * *")
  })
)
