import { SqlClient } from "@effect/sql"
import { Effect, Ref, Stream } from "effect"
import { type ExportRequest, exportCsv } from "./CsvExports.js"

export const EXPORT_QUEUE = "exports.run"

const CHUNK_BYTES = 1024 * 1024

/**
 * Runs one export: the CSV goes into `export_chunks` a megabyte at a time, then the export is marked done
 * with its row and byte counts. A failed attempt marks it failed and fails the job, so the queue retries it
 * (each attempt starts from an empty file).
 */
export const runExport = (exportId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ organizationId: string; params: ExportRequest; status: string }>`
      update exports set status = 'running', error = null where id = ${exportId} and status <> 'done'
      returning organization_id, params, status`
    if (row === undefined) return
    yield* sql`delete from export_chunks where export_id = ${exportId}`
    const encoder = new TextEncoder()
    const state = yield* Ref.make({ seq: 0, bytes: 0, lines: 0, pending: [] as Array<Uint8Array>, size: 0 })
    const flush = Effect.gen(function* () {
      const current = yield* Ref.get(state)
      if (current.size === 0) return
      yield* sql`insert into export_chunks (export_id, seq, data)
        values (${exportId}, ${current.seq}, ${Buffer.concat(current.pending)})`
      yield* Ref.set(state, { ...current, seq: current.seq + 1, pending: [], size: 0 })
    })
    yield* exportCsv(row.organizationId, row.params).pipe(
      Stream.runForEach((text) =>
        Effect.gen(function* () {
          const bytes = encoder.encode(text)
          const lines = text.split("\n").length - 1
          const current = yield* Ref.updateAndGet(state, (s) => ({
            ...s,
            bytes: s.bytes + bytes.length,
            lines: s.lines + lines,
            pending: [...s.pending, bytes],
            size: s.size + bytes.length
          }))
          if (current.size >= CHUNK_BYTES) yield* flush
        })
      )
    )
    yield* flush
    const done = yield* Ref.get(state)
    yield* sql`update exports set status = 'done', rows = ${Math.max(0, done.lines - 1)}, bytes = ${done.bytes},
      finished_at = now() where id = ${exportId}`
  }).pipe(
    Effect.tapError((error) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`update exports set status = 'failed', error = ${String((error as { message?: unknown }).message ?? error)},
          finished_at = now() where id = ${exportId}`.pipe(Effect.ignore)
      )
    ),
    Effect.withSpan("Exports.run", { attributes: { "tapline.export_id": exportId } })
  )
