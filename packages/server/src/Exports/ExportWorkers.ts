import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Jobs, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import { Mailer } from "../Mail/Mailer.js"
import { Storage } from "../Storage/Storage.js"
import { expireExports, expiryQueue, exportQueue, runExport } from "./ExportJob.js"
import { ExportRepository } from "./ExportRepository.js"

/** Runs the requested exports, and hourly removes the files of those past their expiry. */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const jobs = yield* Jobs
    const sql = yield* SqlClient.SqlClient
    const exports = yield* ExportRepository
    const storage = yield* Storage
    const mailer = yield* Mailer
    yield* workQueue(
      jobs,
      exportQueue,
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
    yield* workQueue(jobs, expiryQueue, Workers.maintenance, () =>
      expireExports.pipe(
        Effect.provideService(ExportRepository, exports),
        Effect.provideService(Storage, storage)
      )
    )
    yield* jobs.schedule(expiryQueue.name, "23 * * * *")
  })
).pipe(Layer.provide(ExportRepository.Default))
