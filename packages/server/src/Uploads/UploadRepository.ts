import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { type OrganizationId, UploadId, UploadPurpose } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"

/** An upload ticket as PostgreSQL returns it (timestamptz as `Date`). */
export const UploadRow = Schema.Struct({
  id: UploadId,
  purpose: UploadPurpose,
  contentType: Schema.String,
  objectKey: Schema.String,
  expiresAt: Schema.DateFromSelf
})
export type UploadRow = typeof UploadRow.Type

/** The only SQL on `uploads`. Reads name the organisation: another organisation's upload is not found. */
export class UploadRepository extends Effect.Service<UploadRepository>()("@tapline/server/UploadRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const insert = (row: {
      readonly id: UploadId
      readonly organizationId: OrganizationId
      readonly purpose: UploadPurpose
      readonly contentType: string
      readonly objectKey: string
      readonly createdBy: string
      readonly validSeconds: number
    }) =>
      rowsOrDie(
        SqlSchema.single({
          Request: UploadId,
          Result: UploadRow,
          execute: (id) => sql`
        insert into uploads (id, organization_id, purpose, content_type, object_key, created_by, expires_at)
        values (${id}, ${row.organizationId}, ${row.purpose}, ${row.contentType}, ${row.objectKey},
          ${row.createdBy}, now() + make_interval(secs => ${row.validSeconds}))
        returning id, purpose, content_type, object_key, expires_at`
        })(row.id)
      )

    /** An upload of the organisation that has not expired. */
    const find = (organizationId: OrganizationId, id: UploadId) =>
      rowsOrDie(
        SqlSchema.findOne({
          Request: UploadId,
          Result: UploadRow,
          execute: (id) => sql`
        select id, purpose, content_type, object_key, expires_at from uploads
        where id = ${id} and organization_id = ${organizationId} and expires_at > now()`
        })(id)
      ).pipe(Effect.map(Option.getOrUndefined))

    /** Uploads past their day, oldest first: their objects go, then the rows. */
    const expired = (limit: number) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: Schema.Number,
          Result: Schema.Struct({ id: UploadId, objectKey: Schema.String }),
          execute: (limit) => sql`
        select id, object_key from uploads where expires_at <= now() order by expires_at limit ${limit}`
        })(limit)
      )

    const remove = (id: UploadId) => sql`delete from uploads where id = ${id}`

    /** Of these object keys, those a live ticket (not used, not expired) accounts for. */
    const liveKeys = (keys: ReadonlyArray<string>) =>
      keys.length === 0
        ? Effect.succeed(new Set<string>())
        : rowsOrDie(
            SqlSchema.findAll({
              Request: Schema.Array(Schema.String),
              Result: Schema.Struct({ objectKey: Schema.String }),
              execute: (keys) => sql`
            select object_key from uploads
            where object_key = any(${keys}::text[]) and expires_at > now()`
            })(keys)
          ).pipe(Effect.map((rows) => new Set(rows.map((row) => row.objectKey))))

    return { insert, find, expired, remove, liveKeys } as const
  })
}) {}
