import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { CreateExport, ExportId, OrganizationId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"
import type { ExportRequest } from "./CsvExports.js"

/** What the "export ready" mail needs; `rows` is a bigint, which PostgreSQL returns as text. */
/**
 * An export's request as stored: the payload as the client sent it, encoded (ExportsHandlers). Read back
 * through its schema, so a row written by an older version that no longer fits fails its export with the
 * reason instead of running on a guess.
 */
const decodeStored = Schema.decodeUnknown(Schema.encodedSchema(CreateExport))

const ReadyNotice = Schema.Struct({
  email: Schema.String,
  organizationId: OrganizationId,
  organizationName: Schema.String,
  branding: Schema.Unknown,
  kind: Schema.String,
  rows: Schema.NumberFromString,
  expiresAt: Schema.DateFromSelf
})

/** The only SQL on `exports` (the CSV queries themselves are in CsvExports.ts; the files are in Storage). */
export class ExportRepository extends Effect.Service<ExportRepository>()("@tapline/server/ExportRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /**
     * The event's name and day (its start in its own time zone, else the export's day) name the file: scalar
     * subqueries, so `insert … returning` answers them too.
     */
    const event = sql`from events ev where ev.id = (exports.params ->> 'eventId')::uuid
      and ev.organization_id = exports.organization_id`
    const columns = sql`id, kind, params, status, rows, bytes, error, object_key, created_at, finished_at, expires_at,
      (select ev.name ${event}) as event_name,
      to_char(coalesce((select ev.starts_at at time zone ev.timezone ${event}), created_at at time zone 'UTC'),
        'YYYY-MM-DD') as day`

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

    /** Only the given kinds: those the caller may read. */
    const list = (
      organizationId: OrganizationId,
      kinds: ReadonlyArray<string>,
      query: { readonly after: string | null; readonly limit: number }
    ) =>
      sql`select ${columns} from exports where organization_id = ${organizationId}
        and kind = any(${kinds}::text[])
        ${query.after === null ? sql`` : sql`and id < ${query.after}`} order by id desc limit ${query.limit + 1}`

    /** Claims an export for a run; undefined when it is done (or gone). Each attempt overwrites the object. */
    const start = (id: string) =>
      sql<{ organizationId: string; params: unknown }>`
        update exports set status = 'running', error = null where id = ${id} and status in ('queued', 'running', 'failed')
        returning organization_id, params`.pipe(
        Effect.flatMap(([row]) =>
          row === undefined
            ? Effect.succeed(undefined)
            : Effect.map(
                decodeStored(row.params),
                (params): { organizationId: string; params: ExportRequest } => ({
                  organizationId: row.organizationId,
                  params
                })
              )
        )
      )

    const finish = (
      id: string,
      done: {
        readonly rows: number
        readonly bytes: number
        readonly objectKey: string
        readonly keepDays: number
      }
    ) =>
      rowsOrDie(
        SqlSchema.findOne({
          Request: Schema.String,
          Result: Schema.Struct({ expiresAt: Schema.DateFromSelf }),
          execute: (
            id
          ) => sql`update exports set status = 'done', rows = ${done.rows}, bytes = ${done.bytes}, object_key = ${done.objectKey},
        finished_at = now(), expires_at = now() + make_interval(days => ${done.keepDays}) where id = ${id}
        returning expires_at`
        })(id)
      ).pipe(Effect.map(Option.getOrUndefined))

    /** Who asked for a finished export, when a signed-in user did (an organisation key has no mailbox). */
    const readyNotice = (id: string) =>
      rowsOrDie(
        SqlSchema.findOne({
          Request: Schema.String,
          Result: ReadyNotice,
          execute: (id) => sql`
        select u.email, e.organization_id, o.name as organization_name, o.branding, e.kind, e.rows, e.expires_at
        from exports e
        join organizations o on o.id = e.organization_id
        join users u on e.created_by = 'user:' || u.id::text
        where e.id = ${id} and e.status = 'done'`
        })(id)
      ).pipe(Effect.map(Option.getOrUndefined))

    const fail = (id: string, message: string) =>
      sql`update exports set status = 'failed', error = ${message}, finished_at = now() where id = ${id}`

    /** Finished exports past their expiry, oldest first. */
    const expired = (limit: number) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: Schema.Number,
          Result: Schema.Struct({ id: ExportId, objectKey: Schema.NullOr(Schema.String) }),
          execute: (limit) => sql`
        select id, object_key from exports where status = 'done' and expires_at <= now()
        order by expires_at limit ${limit}`
        })(limit)
      )

    /** After its object is removed: the row stays, as the record that the export existed. */
    const markExpired = (id: ExportId) =>
      sql`update exports set status = 'expired', object_key = null where id = ${id} and status = 'done'`

    return { insert, find, list, start, finish, readyNotice, fail, expired, markExpired } as const
  })
}) {}
