import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { BandId, OrganizationId, Tag, TagId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie, WholeRow } from "../Database/Rows.js"

/** A tags row as PostgreSQL returns it (camelCase); the service decodes it for the API. */
export const TagRow = WholeRow(TagId)
export type TagRow = typeof TagRow.Type

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
      rowsOrDie(
        SqlSchema.findAll({
          Request: OrganizationId,
          Result: TagRow,
          execute: (organizationId) => sql`select * from tags where organization_id = ${organizationId}
        ${after === null ? sql`` : sql`and id > ${after}`} order by id limit ${limit + 1}`
        })(organizationId)
      )

    const create = (row: { organizationId: OrganizationId; name: string; color: string | null }) =>
      rowsOrDie(
        SqlSchema.single({
          Request: Schema.Void,
          Result: TagRow,
          execute: () => sql`insert into tags ${sql.insert(row)} returning *`
        })(undefined)
      )

    /** Locked for the rest of the transaction. */
    const lock = (organizationId: OrganizationId, id: TagId) =>
      rowsOrDie(
        SqlSchema.findOne({
          Request: TagId,
          Result: TagRow,
          execute: (id) =>
            sql`select * from tags where id = ${id} and organization_id = ${organizationId} for update`
        })(id)
      ).pipe(Effect.map(Option.getOrUndefined))

    const update = (id: TagId, columns: Readonly<Record<string, unknown>>) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: TagId,
          Result: TagRow,
          execute: (id) => sql`update tags set ${sql.update(columns)} where id = ${id} returning *`
        })(id)
      )

    /** The removed row, or undefined when the organisation has no such tag. */
    const remove = (organizationId: OrganizationId, id: TagId) =>
      rowsOrDie(
        SqlSchema.findOne({
          Request: TagId,
          Result: TagRow,
          execute: (id) =>
            sql`delete from tags where id = ${id} and organization_id = ${organizationId} returning *`
        })(id)
      ).pipe(Effect.map(Option.getOrUndefined))

    return { listByOrganization, attach, tagsOfBand, page, create, lock, update, remove } as const
  })
}) {}
