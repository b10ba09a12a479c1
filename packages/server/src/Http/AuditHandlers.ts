import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as SqlClient from "@effect/sql/SqlClient"
import { AuditEntry, type OrganizationId, TaplineApi } from "@tapline/domain"
import { DateTime, Effect, Schema, Stream } from "effect"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { requireRole } from "../Auth/Authorization.js"
import { exportCsv, iso } from "../Exports/CsvExports.js"

const AuditRow = Schema.Struct({ ...AuditEntry.fields, occurredAt: Schema.DateTimeUtcFromDate })
const decode = Schema.decodeUnknown(AuditRow)

interface Filters {
  readonly action?: string | undefined
  readonly resourceType?: string | undefined
  readonly resourceId?: string | undefined
  readonly actorId?: string | undefined
  readonly from?: DateTime.Utc | undefined
  readonly to?: DateTime.Utc | undefined
}

export const AuditHandlers = HttpApiBuilder.group(TaplineApi, "audit", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const where = (organizationId: OrganizationId, f: Filters) => sql`
      organization_id = ${organizationId}
      ${f.action === undefined ? sql`` : sql`and action = ${f.action}`}
      ${f.resourceType === undefined ? sql`` : sql`and resource_type = ${f.resourceType}`}
      ${f.resourceId === undefined ? sql`` : sql`and resource_id = ${f.resourceId}`}
      ${f.actorId === undefined ? sql`` : sql`and actor_id = ${f.actorId}`}
      ${f.from === undefined ? sql`` : sql`and occurred_at >= ${DateTime.toDate(f.from)}`}
      ${f.to === undefined ? sql`` : sql`and occurred_at < ${DateTime.toDate(f.to)}`}`

    const select = sql`select id, occurred_at, actor_type, actor_id, organization_id, action, resource_type,
      resource_id, old_values, new_values, host(ip) as ip, user_agent, request_id, trace_id from audit_log`

    return handlers
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          const after = yield* decodeCursor(urlParams.cursor)
          const rows = yield* sql`${select} where ${where(path.organizationId, urlParams)}
            ${after === null ? sql`` : sql`and id < ${after}`}
            order by id desc limit ${urlParams.limit + 1}`.pipe(Effect.orDie)
          const items = yield* Effect.orDie(Effect.forEach(rows, (row) => decode(row)))
          return toPage(
            items.map((row) => new AuditEntry(row)),
            urlParams.limit,
            (entry) => entry.id
          )
        })
      )
      .handle("export", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          const body = exportCsv(path.organizationId, {
            kind: "audit",
            ...urlParams,
            from: iso(urlParams.from),
            to: iso(urlParams.to)
          }).pipe(Stream.encodeText, Stream.provideService(SqlClient.SqlClient, sql))
          return HttpServerResponse.stream(body, {
            contentType: "text/csv; charset=utf-8",
            headers: { "content-disposition": `attachment; filename="audit-${path.organizationId}.csv"` }
          })
        })
      )
  })
)
