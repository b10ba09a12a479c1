import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Schema, Stream } from "effect"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { Jobs, jobQueue, recurringQueue } from "../Jobs/Jobs.js"
import { Mailer } from "../Mail/Mailer.js"
import * as MailTemplates from "../Mail/MailTemplates.js"
import * as Outbox from "../Outbox/Outbox.js"
import { removeExpired } from "../Storage/Expiry.js"
import { organizationKey, Storage } from "../Storage/Storage.js"
import { exportCsv } from "./CsvExports.js"
import { ExportRepository } from "./ExportRepository.js"

/** One job per requested export. */
export const exportQueue = jobQueue("exports.run", Schema.Struct({ exportId: Schema.UUID }))

/** Hourly: removes the files of exports past their expiry. */
export const expiryQueue = recurringQueue("exports.expire")

/** How long a finished export can be downloaded (docs/decisions.md). */
export const KEEP_DAYS = 7

export const objectKeyOf = (organizationId: string, exportId: string) =>
  organizationKey(organizationId, "exports", `${exportId}.csv`)

/**
 * Runs one export: the CSV streams from keyset pages of the database into Storage (multipart on S3, never whole in
 * memory), then the export is marked done with its row and byte counts and its expiry. A failed attempt marks
 * it failed and fails the job, so the queue retries it; a retry overwrites the object.
 */
export const runExport = (exportId: string) =>
  Effect.gen(function* () {
    const exports = yield* ExportRepository
    const storage = yield* Storage
    const row = yield* exports.start(exportId)
    if (row === undefined) return
    const sql = yield* SqlClient.SqlClient
    let lines = 0
    const text = exportCsv(row.organizationId, row.params).pipe(
      Stream.tap((chunk) => Effect.sync(() => (lines += chunk.split("\n").length - 1))),
      Stream.encodeText,
      Stream.provideService(SqlClient.SqlClient, sql)
    )
    const key = objectKeyOf(row.organizationId, exportId)
    const stored = yield* storage.put(key, text, { contentType: "text/csv; charset=utf-8" })
    const jobs = yield* Jobs
    yield* jobs.transactional(
      Effect.gen(function* () {
        const rows = Math.max(0, lines - 1)
        const finished = yield* exports.finish(exportId, {
          rows,
          bytes: stored.size,
          objectKey: key,
          keepDays: KEEP_DAYS
        })
        yield* Outbox.publish(row.organizationId, "export.ready", {
          exportId,
          kind: row.params.kind,
          rows,
          bytes: stored.size,
          expiresAt: finished?.expiresAt.toISOString() ?? null
        })
        yield* announceReady(exportId)
      })
    )
  }).pipe(
    Effect.tapError((error) =>
      Effect.flatMap(ExportRepository, (exports) =>
        exports.fail(exportId, String((error as { message?: unknown }).message ?? error)).pipe(Effect.ignore)
      )
    ),
    Effect.withSpan("Exports.run", { attributes: { "tapline.export_id": exportId } })
  )

/** The mail to whoever asked for the export, enqueued with the export's completion. */
const announceReady = (exportId: string) =>
  Effect.gen(function* () {
    const notice = yield* Effect.flatMap(ExportRepository, (exports) => exports.readyNotice(exportId))
    if (notice === undefined) return
    const config = yield* AppConfig
    const link = new URL(
      `/api/v1/organizations/${notice.organizationId}/exports/${exportId}/download`,
      publicOrigin(config)
    )
    const mailer = yield* Mailer
    yield* mailer.send(
      "export.ready",
      notice.email,
      MailTemplates.exportReady(
        MailTemplates.brandOf({ name: notice.organizationName, branding: notice.branding }),
        {
          kind: notice.kind,
          rows: notice.rows,
          link: link.href,
          expiresAt: notice.expiresAt
        }
      )
    )
  })

/** Removes the files of exports past their expiry and marks the exports `expired`; how many. */
export const expireExports = Effect.flatMap(ExportRepository, (exports) =>
  removeExpired({ name: "exports", due: exports.expired, done: (row) => exports.markExpired(row.id) })
)
