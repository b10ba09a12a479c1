import * as SqlClient from "@effect/sql/SqlClient"
import type { ExportId, OrganizationId } from "@tapline/domain"
import { Chunk, Effect, Stream } from "effect"
import type { ExportRequest } from "./CsvExports.js"

/** The only SQL on `exports` and `export_chunks` (the CSV queries themselves are in CsvExports.ts). */
export class ExportRepository extends Effect.Service<ExportRepository>()("@tapline/server/ExportRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const columns = sql`id, kind, params, status, rows, bytes, error, created_at, finished_at`

    const insert = (row: {
      readonly organizationId: OrganizationId
      readonly kind: string
      readonly params: unknown
      readonly createdBy: string
    }) =>
      sql`
        insert into exports (organization_id, kind, params, created_by)
        values (${row.organizationId}, ${row.kind}, ${JSON.stringify(row.params)}::jsonb, ${row.createdBy})
        returning ${columns}`.pipe(Effect.map((rows) => rows[0]!))

    const find = (organizationId: OrganizationId, id: ExportId) =>
      sql`select ${columns} from exports where id = ${id} and organization_id = ${organizationId}`.pipe(
        Effect.map((rows) => rows[0])
      )

    const list = (
      organizationId: OrganizationId,
      query: { readonly after: string | null; readonly limit: number }
    ) =>
      sql`select ${columns} from exports where organization_id = ${organizationId}
        ${query.after === null ? sql`` : sql`and id < ${query.after}`} order by id desc limit ${query.limit + 1}`

    /** The stored file, a chunk at a time, as the download streams it. */
    const content = (id: ExportId) =>
      sql<{
        data: Uint8Array
      }>`select data from export_chunks where export_id = ${id} order by seq`.stream.pipe(
        Stream.mapChunks((chunk) => Chunk.map(chunk, (row) => new Uint8Array(row.data))),
        Stream.provideService(SqlClient.SqlClient, sql)
      )

    /** Claims an export for a run, emptying what an earlier attempt wrote; undefined when it is done. */
    const start = (id: string) =>
      Effect.gen(function* () {
        const [row] = yield* sql<{ organizationId: string; params: ExportRequest }>`
          update exports set status = 'running', error = null where id = ${id} and status <> 'done'
          returning organization_id, params`
        if (row !== undefined) yield* sql`delete from export_chunks where export_id = ${id}`
        return row
      })

    const appendChunk = (id: string, seq: number, data: Uint8Array) =>
      Effect.asVoid(sql`insert into export_chunks (export_id, seq, data) values (${id}, ${seq}, ${data})`)

    const finish = (id: string, totals: { readonly rows: number; readonly bytes: number }) =>
      sql`update exports set status = 'done', rows = ${totals.rows}, bytes = ${totals.bytes},
        finished_at = now() where id = ${id}`

    const fail = (id: string, message: string) =>
      sql`update exports set status = 'failed', error = ${message}, finished_at = now() where id = ${id}`

    return { insert, find, list, content, start, appendChunk, finish, fail } as const
  })
}) {}
