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

/** An entry as stored: `actorName` is not a column but the join of `withActorNames`. */
const { actorName: _, ...storedFields } = AuditEntry.fields
const StoredRow = Schema.Struct({ ...storedFields, occurredAt: Schema.DateTimeUtcFromDate })

const AuditRow = Schema.Struct({
  ...AuditEntry.fields,
  occurredAt: Schema.DateTimeUtcFromDate
})

/** Entries shown as coming from Tapline itself (seeding, jobs, the setup link). */
export const SYSTEM_NAME = "Tapline"

/**
 * `entries` (a subquery of audit_log rows, aliased `a` by the caller's select) with each actor's name, in one
 * join rather than a query per entry: the user's name (their email if they gave none), the API key's name, or
 * "Tapline" for the system. `actor_id` is text (a system actor's may be anything), so it is cast to uuid only
 * when it has a uuid's shape, which keeps the joins on the primary keys.
 */
export const actorNameJoin = (sql: SqlClient.SqlClient) => sql`
  left join users actor_user on a.actor_type = 'user' and actor_user.id = ${actorUuid(sql)}
  left join api_keys actor_key on a.actor_type = 'api_key' and actor_key.id = ${actorUuid(sql)}`

export const actorNameColumn = (sql: SqlClient.SqlClient) => sql`
  case a.actor_type
    when 'system' then ${SYSTEM_NAME}::text
    when 'user' then coalesce(nullif(actor_user.name, ''), actor_user.email)
    else actor_key.name
  end as actor_name`

const actorUuid = (sql: SqlClient.SqlClient) => sql`(case when a.actor_id ~*
  '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then a.actor_id::uuid end)`

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
      Result: StoredRow,
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
      Result: StoredRow,
      execute: (organizationId) => sql`
        select * from audit_log where organization_id = ${organizationId} order by occurred_at desc, id desc limit 500`
    })

    /**
     * One page of an organisation's entries, newest first, with the filters of the audit API. The page is cut
     * first, then its actors are named.
     */
    const list = (organizationId: OrganizationId, query: AuditQuery) =>
      sql`
        select a.id, a.occurred_at, a.actor_type, a.actor_id, ${actorNameColumn(sql)}, a.organization_id,
          a.action, a.resource_type, a.resource_id, a.old_values, a.new_values, host(a.ip) as ip, a.user_agent,
          a.request_id, a.trace_id
        from (select * from audit_log where organization_id = ${organizationId}
          ${query.action === undefined ? sql`` : sql`and action = ${query.action}`}
          ${query.resourceType === undefined ? sql`` : sql`and resource_type = ${query.resourceType}`}
          ${query.resourceId === undefined ? sql`` : sql`and resource_id = ${query.resourceId}`}
          ${query.actorId === undefined ? sql`` : sql`and actor_id = ${query.actorId}`}
          ${query.from === undefined ? sql`` : sql`and occurred_at >= ${DateTime.toDate(query.from)}`}
          ${query.to === undefined ? sql`` : sql`and occurred_at < ${DateTime.toDate(query.to)}`}
          ${query.after === null ? sql`` : sql`and id < ${query.after}`}
          order by id desc limit ${query.limit + 1}) a
        ${actorNameJoin(sql)}
        order by a.id desc`.pipe(
        Effect.flatMap((rows) => Effect.forEach(rows, (row) => Schema.decodeUnknown(AuditRow)(row))),
        Effect.map((rows) => rows.map((row) => new AuditEntry(row)))
      )

    return { append, listByOrganization, list } as const
  })
}) {}
