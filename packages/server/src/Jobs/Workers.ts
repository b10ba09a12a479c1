import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer } from "effect"
import { TrashPurge, TrashPurgeLive } from "../Admin/TrashPurge.js"
import { backfillDevices } from "../Analytics/DeviceBackfill.js"
import { rollupDirtyHours } from "../Analytics/Rollups.js"
import { AppConfig } from "../Config/AppConfig.js"
import { SecretBox } from "../Crypto/SecretBox.js"
import { ensureTapPartitions } from "../Database/Database.js"
import { Email } from "../Email/Email.js"
import { EventLifecycle } from "../Events/EventLifecycle.js"
import { expireExports, expiryQueue, exportQueue, runExport } from "../Exports/ExportJob.js"
import { ExportRepository } from "../Exports/ExportRepository.js"
import { deliver, emailQueue, Mailer } from "../Mail/Mailer.js"
import { Storage } from "../Storage/Storage.js"
import { UploadRepository } from "../Uploads/UploadRepository.js"
import { expireUploads } from "../Uploads/Uploads.js"
import { WebhookRepository } from "../Webhooks/WebhookRepository.js"
import { Jobs, type QueueOptions, recurringQueue, workQueue } from "./Jobs.js"

const maintenance: QueueOptions = { retryLimit: 3, retryDelaySeconds: 30, backoff: true, concurrency: 1 }

export const queues = {
  lifecycle: recurringQueue("events.lifecycle"),
  partitions: recurringQueue("taps.partitions"),
  retention: recurringQueue("taps.retention"),
  rollup: recurringQueue("analytics.rollup"),
  devices: recurringQueue("taps.devices"),
  exports: exportQueue,
  exportExpiry: expiryQueue,
  uploadExpiry: recurringQueue("uploads.expire"),
  email: emailQueue,
  webhookLog: recurringQueue("webhooks.prune"),
  trashPurge: recurringQueue("trash.purge")
} as const

/** The recurring jobs and when they run (UTC cron). */
export const schedule = {
  [queues.lifecycle.name]: "* * * * *",
  [queues.partitions.name]: "17 * * * *",
  [queues.retention.name]: "40 3 * * *",
  [queues.rollup.name]: "* * * * *",
  // Finds nothing (one probe of an empty partial index) once the taps stored before 0016 are classified.
  [queues.devices.name]: "* * * * *",
  [queues.exportExpiry.name]: "23 * * * *",
  [queues.uploadExpiry.name]: "53 * * * *",
  [queues.webhookLog.name]: "7 4 * * *",
  [queues.trashPurge.name]: "37 * * * *"
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
    const sql = yield* SqlClient.SqlClient
    const exports = yield* ExportRepository
    const storage = yield* Storage
    const uploads = yield* UploadRepository
    const mailer = yield* Mailer
    const email = yield* Email
    const secrets = yield* SecretBox
    const webhooks = yield* WebhookRepository
    const trash = yield* TrashPurge

    const lifecycle = yield* EventLifecycle
    yield* workQueue(jobs, queues.lifecycle, maintenance, () => lifecycle.advance)
    yield* workQueue(jobs, queues.partitions, maintenance, () =>
      ensureTapPartitions.pipe(Effect.provideService(SqlClient.SqlClient, sql))
    )
    yield* workQueue(jobs, queues.retention, maintenance, () =>
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
    yield* workQueue(
      jobs,
      queues.exports,
      // Two at once, one per organisation (by default): another organisation's export never waits for a
      // flooder's queue, at most for one export that was already running.
      {
        retryLimit: 2,
        retryDelaySeconds: 10,
        backoff: true,
        concurrency: 2,
        groupConcurrency: config.jobs.perOrganizationConcurrency
      },
      ({ exportId }) =>
        runExport(exportId).pipe(
          Effect.provideService(ExportRepository, exports),
          Effect.provideService(Mailer, mailer),
          Effect.provideService(Jobs, jobs),
          Effect.provideService(AppConfig, config),
          Effect.provideService(Storage, storage),
          Effect.provideService(SqlClient.SqlClient, sql)
        )
    )
    yield* workQueue(jobs, queues.exportExpiry, maintenance, () =>
      expireExports.pipe(
        Effect.provideService(ExportRepository, exports),
        Effect.provideService(Storage, storage)
      )
    )
    yield* workQueue(jobs, queues.uploadExpiry, maintenance, () =>
      expireUploads.pipe(
        Effect.provideService(UploadRepository, uploads),
        Effect.provideService(Storage, storage)
      )
    )
    yield* workQueue(
      jobs,
      queues.email,
      {
        retryLimit: config.email.retryLimit,
        retryDelaySeconds: config.email.retryDelaySeconds,
        backoff: true,
        concurrency: 4
      },
      (job) =>
        deliver(job).pipe(Effect.provideService(Email, email), Effect.provideService(SecretBox, secrets))
    )
    yield* workQueue(jobs, queues.webhookLog, maintenance, () =>
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
    yield* workQueue(jobs, queues.trashPurge, maintenance, () => trash.run)
    // Rolls up until no dirty hour is left, so a backlog clears within one run.
    yield* workQueue(jobs, queues.rollup, maintenance, () =>
      rollupDirtyHours().pipe(
        Effect.repeat({ until: (rolled) => rolled === 0 }),
        Effect.provideService(SqlClient.SqlClient, sql)
      )
    )
    // Batch after batch until no tap is left without a device: a backlog of 10 M clears within one run.
    yield* workQueue(jobs, queues.devices, maintenance, () =>
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
    for (const [queue, cron] of Object.entries(schedule)) yield* jobs.schedule(queue, cron)
    yield* Effect.logInfo("background jobs started").pipe(
      Effect.annotateLogs({ queues: Object.keys(schedule) })
    )
  })
).pipe(
  Layer.provide([
    ExportRepository.Default,
    UploadRepository.Default,
    WebhookRepository.Default,
    TrashPurgeLive,
    EventLifecycle.Default
  ])
)
