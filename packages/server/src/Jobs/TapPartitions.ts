import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { ensureTapPartitions } from "../Database/Database.js"
import { Jobs, recurringQueue, workQueue } from "./Jobs.js"
import * as Workers from "./Workers.js"

/** Hourly: keeps the monthly tap partitions ready ahead of time. */
export const partitionsQueue = recurringQueue("taps.partitions")

/** Daily: drops the partitions of raw taps older than TAP_RETENTION_MONTHS (the rollups stay). */
export const retentionQueue = recurringQueue("taps.retention")

/** The taps table's monthly partitions: database upkeep, so the platform's own jobs. */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const jobs = yield* Jobs
    const sql = yield* SqlClient.SqlClient
    yield* workQueue(jobs, partitionsQueue, Workers.maintenance, () =>
      ensureTapPartitions.pipe(Effect.provideService(SqlClient.SqlClient, sql))
    )
    yield* workQueue(jobs, retentionQueue, Workers.maintenance, () =>
      sql<{
        dropped: string
      }>`select tapline_drop_tap_partitions(${config.jobs.tapRetentionMonths}) as dropped`.pipe(
        Effect.tap((rows) =>
          rows.length > 0
            ? Effect.logInfo("tap partitions dropped").pipe(
                Effect.annotateLogs({ partitions: rows.map((r) => r.dropped) })
              )
            : Effect.void
        )
      )
    )
    yield* jobs.schedule(partitionsQueue.name, "17 * * * *")
    yield* jobs.schedule(retentionQueue.name, "40 3 * * *")
  })
)
