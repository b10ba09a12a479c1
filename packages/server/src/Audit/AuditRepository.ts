import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { ActorType, AuditEntry, OrganizationId } from "@tapline/domain"
import { DateTime, Effect, Schema } from "effect"

/** What a caller supplies; id and time are the database's. */
export const AuditRecord = Schema.Struct({
  actorType: ActorType,
  actorId: Schema.NullOr(Schema.String),
  organizationId: Schema.NullOr(OrganizationId),
  action: Schema.String,
  resourceType: Schema.String,
  resourceId: Schema.NullOr(Schema.String),
  oldValues: Schema.NullOr(Schema.Unknown),
  newValues: Schema.NullOr(Schema.Unknown),
  ip: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String),
  requestId: Schema.NullOr(Schema.String),
  traceId: Schema.NullOr(Schema.String)
})
export type AuditRecord = typeof AuditRecord.Type

const AuditRow = Schema.Struct({
  ...AuditEntry.fields,
  occurredAt: Schema.DateTimeUtcFromDate
})

export interface AuditQuery {
  readonly action?: string | undefined
  readonly resourceType?: string | undefined
  readonly resourceId?: string | undefined
  readonly actorId?: string | undefined
  readonly from?: DateTime.Utc | undefined
  readonly to?: DateTime.Utc | undefined
  readonly after: string | null
  readonly limit: number
}

/** The only SQL on `audit_log` besides its CSV export (CsvExports.ts). Entries are never changed. */
export class AuditRepository extends Effect.Service<AuditRepository>()("@tapline/server/AuditRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** Call inside the transaction of the change it records, so both land or neither does. */
    const append = SqlSchema.single({
      Request: AuditRecord,
      Result: AuditRow,
      execute: (record) => sql`
        insert into audit_log (actor_type, actor_id, organization_id, action, resource_type, resource_id,
          old_values, new_values, ip, user_agent, request_id, trace_id)
        values (${record.actorType}, ${record.actorId}, ${record.organizationId}, ${record.action},
          ${record.resourceType}, ${record.resourceId},
          ${record.oldValues === null ? null : JSON.stringify(record.oldValues)}::jsonb,
          ${record.newValues === null ? null : JSON.stringify(record.newValues)}::jsonb,
          ${record.ip}::inet, ${record.userAgent}, ${record.requestId}, ${record.traceId})
        returning *`
    })

    const listByOrganization = SqlSchema.findAll({
      Request: OrganizationId,
      Result: AuditRow,
      execute: (organizationId) => sql`
        select * from audit_log where organization_id = ${organizationId} order by occurred_at desc, id desc limit 500`
    })

    /** One page of an organisation's entries, newest first, with the filters of the audit API. */
    const list = (organizationId: OrganizationId, query: AuditQuery) =>
      sql`
        select id, occurred_at, actor_type, actor_id, organization_id, action, resource_type, resource_id,
          old_values, new_values, host(ip) as ip, user_agent, request_id, trace_id
        from audit_log where organization_id = ${organizationId}
          ${query.action === undefined ? sql`` : sql`and action = ${query.action}`}
          ${query.resourceType === undefined ? sql`` : sql`and resource_type = ${query.resourceType}`}
          ${query.resourceId === undefined ? sql`` : sql`and resource_id = ${query.resourceId}`}
          ${query.actorId === undefined ? sql`` : sql`and actor_id = ${query.actorId}`}
          ${query.from === undefined ? sql`` : sql`and occurred_at >= ${DateTime.toDate(query.from)}`}
          ${query.to === undefined ? sql`` : sql`and occurred_at < ${DateTime.toDate(query.to)}`}
          ${query.after === null ? sql`` : sql`and id < ${query.after}`}
        order by id desc limit ${query.limit + 1}`.pipe(
        Effect.flatMap((rows) => Effect.forEach(rows, (row) => Schema.decodeUnknown(AuditRow)(row))),
        Effect.map((rows) => rows.map((row) => new AuditEntry(row)))
      )

    return { append, listByOrganization, list } as const
  })
}) {}
