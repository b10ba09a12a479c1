import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as SqlClient from "@effect/sql/SqlClient"
import {
  Conflict,
  CreateExport,
  Export,
  type ExportId,
  NotFound,
  type OrganizationId,
  TaplineApi
} from "@tapline/domain"
import { Chunk, Effect, Schema, Stream } from "effect"
import { Changes } from "../Admin/Changes.js"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { Audit } from "../Audit/Audit.js"
import { requireRole } from "../Auth/Authorization.js"
import { exportQueue } from "../Exports/ExportJob.js"
import { enqueueJob, Jobs } from "../Jobs/Jobs.js"

const ExportRow = Schema.Struct({
  ...Export.fields,
  rows: Schema.NullOr(Schema.NumberFromString),
  bytes: Schema.NullOr(Schema.NumberFromString),
  createdAt: Schema.DateTimeUtcFromDate,
  finishedAt: Schema.NullOr(Schema.DateTimeUtcFromDate)
})
const decode = (row: unknown) =>
  Effect.map(Effect.orDie(Schema.decodeUnknown(ExportRow)(row)), (r) => new Export(r))

/** Who may see an export's content: the taps of an event are for members; the audit log for OWNERs. */
const roleFor = (kind: string) => (kind === "audit" ? ("OWNER" as const) : ("VIEWER" as const))

export const ExportsHandlers = HttpApiBuilder.group(TaplineApi, "exports", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes
    const audit = yield* Audit
    const jobs = yield* Jobs

    const columns = sql`id, kind, params, status, rows, bytes, error, created_at, finished_at`

    const load = (organizationId: OrganizationId, id: ExportId) =>
      sql`select ${columns} from exports where id = ${id} and organization_id = ${organizationId}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined ? new NotFound({ resource: "export", id }) : decode(rows[0])
        )
      )

    return handlers
      .handle("create", ({ path, payload }) =>
        Effect.gen(function* () {
          const principal = yield* requireRole(path.organizationId, roleFor(payload.kind))
          // Stored as the client sent it (instants as ISO strings): the job reads it back as an ExportRequest.
          const encoded = Schema.encodeSync(CreateExport)(payload)
          if (payload.kind === "taps") {
            const event = yield* sql`select 1 from events where id = ${payload.eventId}
              and organization_id = ${path.organizationId}`.pipe(Effect.orDie)
            if (event.length === 0) return yield* new NotFound({ resource: "event", id: payload.eventId })
          }
          return yield* changes.transact(
            Effect.gen(function* () {
              const [row] = yield* sql`
                insert into exports (organization_id, kind, params, created_by)
                values (${path.organizationId}, ${payload.kind}, ${JSON.stringify(encoded)}::jsonb,
                  ${`${principal.actorType}:${principal.actorId}`})
                returning ${columns}`
              const created = yield* decode(row)
              // Enqueued with the insert: the job exists exactly when the export does.
              yield* Effect.orDie(enqueueJob(jobs, exportQueue, { exportId: created.id }))
              yield* audit.record({
                organizationId: path.organizationId,
                action: "export.create",
                resourceType: "export",
                resourceId: created.id,
                newValues: encoded
              })
              return created
            })
          )
        })
      )
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const after = yield* decodeCursor(urlParams.cursor)
          const rows =
            yield* sql`select ${columns} from exports where organization_id = ${path.organizationId}
            ${after === null ? sql`` : sql`and id < ${after}`} order by id desc limit ${urlParams.limit + 1}`.pipe(
              Effect.orDie
            )
          return toPage(yield* Effect.forEach(rows, decode), urlParams.limit, (e) => e.id)
        })
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          return yield* load(path.organizationId, path.exportId)
        })
      )
      .handle("download", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const found = yield* load(path.organizationId, path.exportId)
          yield* requireRole(path.organizationId, roleFor(found.kind))
          if (found.status !== "done") {
            return yield* new Conflict({ message: `the export is ${found.status}, not done` })
          }
          const chunks = sql<{ data: Uint8Array }>`
            select data from export_chunks where export_id = ${path.exportId} order by seq`.stream.pipe(
            Stream.mapChunks((chunk) => Chunk.map(chunk, (row) => new Uint8Array(row.data))),
            Stream.provideService(SqlClient.SqlClient, sql)
          )
          return HttpServerResponse.stream(chunks, {
            contentType: "text/csv; charset=utf-8",
            headers: { "content-disposition": `attachment; filename="${found.kind}-${found.id}.csv"` }
          })
        })
      )
  })
)
