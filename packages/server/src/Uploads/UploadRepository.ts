import * as SqlClient from "@effect/sql/SqlClient"
import type { OrganizationId, UploadId, UploadPurpose } from "@tapline/domain"
import { Effect } from "effect"

export interface UploadRow {
  readonly id: UploadId
  readonly purpose: UploadPurpose
  readonly contentType: string
  readonly objectKey: string
  readonly expiresAt: Date
}

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
      sql<UploadRow>`
        insert into uploads (id, organization_id, purpose, content_type, object_key, created_by, expires_at)
        values (${row.id}, ${row.organizationId}, ${row.purpose}, ${row.contentType}, ${row.objectKey},
          ${row.createdBy}, now() + make_interval(secs => ${row.validSeconds}))
        returning id, purpose, content_type, object_key, expires_at`.pipe(Effect.map((rows) => rows[0]!))

    /** An upload of the organisation that has not expired. */
    const find = (organizationId: OrganizationId, id: UploadId) =>
      sql<UploadRow>`
        select id, purpose, content_type, object_key, expires_at from uploads
        where id = ${id} and organization_id = ${organizationId} and expires_at > now()`.pipe(
        Effect.map((rows) => rows[0])
      )

    /** Uploads past their day, oldest first: their objects go, then the rows. */
    const expired = (limit: number) =>
      sql<{ id: UploadId; objectKey: string }>`
        select id, object_key from uploads where expires_at <= now() order by expires_at limit ${limit}`

    const remove = (id: UploadId) => sql`delete from uploads where id = ${id}`

    /** Of these object keys, those a live ticket (not used, not expired) accounts for. */
    const liveKeys = (keys: ReadonlyArray<string>) =>
      keys.length === 0
        ? Effect.succeed(new Set<string>())
        : sql<{ objectKey: string }>`
            select object_key from uploads
            where object_key = any(${keys}::text[]) and expires_at > now()`.pipe(
            Effect.map((rows) => new Set(rows.map((row) => row.objectKey)))
          )

    return { insert, find, expired, remove, liveKeys } as const
  })
}) {}
