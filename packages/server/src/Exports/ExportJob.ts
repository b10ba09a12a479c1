import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option, Schedule, Schema, Stream } from "effect"
import { jobQueue, recurringQueue } from "../Jobs/Jobs.js"
import { ObjectKey, organizationKey, Storage } from "../Storage/Storage.js"
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
 * Runs one export: the CSV streams from a database cursor into Storage (multipart on S3, never whole in
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
    yield* exports.finish(exportId, {
      rows: Math.max(0, lines - 1),
      bytes: stored.size,
      objectKey: key,
      keepDays: KEEP_DAYS
    })
  }).pipe(
    Effect.tapError((error) =>
      Effect.flatMap(ExportRepository, (exports) =>
        exports.fail(exportId, String((error as { message?: unknown }).message ?? error)).pipe(Effect.ignore)
      )
    ),
    Effect.withSpan("Exports.run", { attributes: { "tapline.export_id": exportId } })
  )

/**
 * Removes the objects of expired exports and marks them `expired`, a hundred at a time until none is left.
 * The object goes first: a crash between the two leaves a row that the next run removes again (removing a
 * missing object succeeds), never an object nobody knows about. Returns how many expired.
 */
export const expireExports = Effect.gen(function* () {
  const exports = yield* ExportRepository
  const storage = yield* Storage
  let total = 0
  yield* Effect.gen(function* () {
    const due = yield* exports.expired(100)
    for (const row of due) {
      const key = Schema.decodeUnknownOption(ObjectKey)(row.objectKey)
      if (Option.isSome(key)) yield* storage.remove(key.value)
      else
        yield* Effect.logWarning("an expired export names no valid object").pipe(
          Effect.annotateLogs({ exportId: row.id })
        )
      yield* exports.markExpired(row.id)
    }
    total += due.length
    return due.length
  }).pipe(Effect.repeat({ while: (count) => count === 100, schedule: Schedule.forever }))
  if (total > 0)
    yield* Effect.logInfo("expired exports removed").pipe(Effect.annotateLogs({ exports: total }))
  return total
}).pipe(Effect.withSpan("Exports.expire"))
