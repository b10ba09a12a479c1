import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { BandId, OrganizationId, Tag, TagId } from "@tapline/domain"
import { Effect, Schema } from "effect"

/** A tags row as PostgreSQL returns it (camelCase); the service decodes it for the API. */
export type TagRow = { readonly id: TagId } & Readonly<Record<string, unknown>>

/** The only SQL on `tags` and `band_tags`. Every statement names the organisation. */
export class TagRepository extends Effect.Service<TagRepository>()("@tapline/server/TagRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const listByOrganization = SqlSchema.findAll({
      Request: OrganizationId,
      Result: Tag,
      execute: (organizationId) =>
        sql`select * from tags where organization_id = ${organizationId} order by name`
    })

    /** The composite foreign keys refuse a tag and a band of different organisations. */
    const attach = SqlSchema.void({
      Request: Schema.Struct({ organizationId: OrganizationId, bandId: BandId, tagId: TagId }),
      execute: ({ bandId, organizationId, tagId }) => sql`
        insert into band_tags (band_id, tag_id, organization_id) values (${bandId}, ${tagId}, ${organizationId})
        on conflict do nothing`
    })

    const tagsOfBand = SqlSchema.findAll({
      Request: Schema.Struct({ organizationId: OrganizationId, bandId: BandId }),
      Result: Tag,
      execute: ({ bandId, organizationId }) => sql`
        select t.* from tags t join band_tags bt on bt.tag_id = t.id
        where bt.band_id = ${bandId} and t.organization_id = ${organizationId} order by t.name`
    })

    /** A page in id order after the cursor's id. */
    const page = (organizationId: OrganizationId, after: string | null, limit: number) =>
      sql<TagRow>`select * from tags where organization_id = ${organizationId}
        ${after === null ? sql`` : sql`and id > ${after}`} order by id limit ${limit + 1}`

    const create = (row: { organizationId: OrganizationId; name: string; color: string | null }) =>
      sql<TagRow>`insert into tags ${sql.insert(row)} returning *`.pipe(Effect.map((rows) => rows[0]!))

    /** Locked for the rest of the transaction. */
    const lock = (organizationId: OrganizationId, id: TagId) =>
      sql<TagRow>`select * from tags where id = ${id} and organization_id = ${organizationId} for update`.pipe(
        Effect.map((rows) => rows[0])
      )

    const update = (id: TagId, columns: Readonly<Record<string, unknown>>) =>
      sql<TagRow>`update tags set ${sql.update(columns)} where id = ${id} returning *`

    /** The removed row, or undefined when the organisation has no such tag. */
    const remove = (organizationId: OrganizationId, id: TagId) =>
      sql<TagRow>`delete from tags where id = ${id} and organization_id = ${organizationId} returning *`.pipe(
        Effect.map((rows) => rows[0])
      )

    return { listByOrganization, attach, tagsOfBand, page, create, lock, update, remove } as const
  })
}) {}
