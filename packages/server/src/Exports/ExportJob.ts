import type * as SqlError from "@effect/sql/SqlError"
import { Effect, Schema, Stream } from "effect"
import { jobQueue } from "../Jobs/Jobs.js"
import { exportCsv } from "./CsvExports.js"
import { ExportRepository } from "./ExportRepository.js"

/** One job per requested export. */
export const exportQueue = jobQueue("exports.run", Schema.Struct({ exportId: Schema.UUID }))

const CHUNK_BYTES = 1024 * 1024

/**
 * Runs one export: the CSV goes into `export_chunks` a megabyte at a time, then the export is marked done
 * with its row and byte counts. A failed attempt marks it failed and fails the job, so the queue retries it
 * (each attempt starts from an empty file).
 */
export const runExport = (exportId: string) =>
  Effect.gen(function* () {
    const exports = yield* ExportRepository
    const row = yield* exports.start(exportId)
    if (row === undefined) return
    const encoder = new TextEncoder()
    let seq = 0
    let bytes = 0
    let lines = 0
    let pending: Array<Uint8Array> = []
    let pendingBytes = 0
    const flush: Effect.Effect<void, SqlError.SqlError> = Effect.suspend(
      (): Effect.Effect<void, SqlError.SqlError> => {
        if (pendingBytes === 0) return Effect.void
        const data = Buffer.concat(pending)
        pending = []
        pendingBytes = 0
        return exports.appendChunk(exportId, seq++, data)
      }
    )
    yield* exportCsv(row.organizationId, row.params).pipe(
      Stream.runForEach((text) => {
        const encoded = encoder.encode(text)
        bytes += encoded.length
        lines += text.split("\n").length - 1
        pending.push(encoded)
        pendingBytes += encoded.length
        return pendingBytes >= CHUNK_BYTES ? flush : Effect.void
      })
    )
    yield* flush
    yield* exports.finish(exportId, { rows: Math.max(0, lines - 1), bytes })
  }).pipe(
    Effect.tapError((error) =>
      Effect.flatMap(ExportRepository, (exports) =>
        exports.fail(exportId, String((error as { message?: unknown }).message ?? error)).pipe(Effect.ignore)
      )
    ),
    Effect.withSpan("Exports.run", { attributes: { "tapline.export_id": exportId } })
  )
