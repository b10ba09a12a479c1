import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer } from "effect"
import { rollupDirtyHours } from "../Analytics/Rollups.js"
import { Audit } from "../Audit/Audit.js"
import { AppConfig } from "../Config/AppConfig.js"
import { ensureTapPartitions } from "../Database/Database.js"
import { EXPORT_QUEUE, runExport } from "../Exports/ExportJob.js"
import { Projector } from "../ReadModel/Projector.js"
import { Jobs, type QueueOptions } from "./Jobs.js"
import { advanceLifecycle } from "./Lifecycle.js"

const maintenance: QueueOptions = { retryLimit: 3, retryDelaySeconds: 30, backoff: true, concurrency: 1 }

/** The recurring jobs, what runs them and when (UTC cron). */
export const schedule = {
  "events.lifecycle": "* * * * *",
  "taps.partitions": "17 * * * *",
  "taps.retention": "40 3 * * *",
  "analytics.rollup": "* * * * *"
} as const

/**
 * Works Tapline's background jobs in this process (unless JOBS_ENABLED=false) and registers their
 * schedules. Every instance may do this: the queue hands each job to one of them.
 */
export const layer = Layer.scopedDiscard(
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (!config.jobs.enabled) return
    const jobs = yield* Jobs
    const projector = yield* Projector
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit

    yield* jobs.work("events.lifecycle", maintenance, () =>
      advanceLifecycle.pipe(
        Effect.flatMap((organizations) =>
          Effect.forEach(organizations, projector.organization, { discard: true })
        ),
        Effect.provideService(Audit, audit),
        Effect.provideService(SqlClient.SqlClient, sql)
      )
    )
    yield* jobs.work("taps.partitions", maintenance, () =>
      ensureTapPartitions.pipe(Effect.provideService(SqlClient.SqlClient, sql))
    )
    yield* jobs.work("taps.retention", maintenance, () =>
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
    yield* jobs.work(
      EXPORT_QUEUE,
      { retryLimit: 2, retryDelaySeconds: 10, backoff: true, concurrency: 1 },
      (payload) =>
        runExport((payload as { exportId: string }).exportId).pipe(
          Effect.provideService(SqlClient.SqlClient, sql)
        )
    )
    // Rolls up until no dirty hour is left, so a backlog clears within one run.
    yield* jobs.work("analytics.rollup", maintenance, () =>
      rollupDirtyHours().pipe(
        Effect.repeat({ until: (rolled) => rolled === 0 }),
        Effect.provideService(SqlClient.SqlClient, sql)
      )
    )
    for (const [queue, cron] of Object.entries(schedule)) yield* jobs.schedule(queue, cron)
    yield* Effect.logInfo("background jobs started").pipe(
      Effect.annotateLogs({ queues: Object.keys(schedule) })
    )
  })
)
