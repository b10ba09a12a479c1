import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { BandId, OrganizationId, Tag, TagId } from "@tapline/domain"
import { Effect, Schema } from "effect"

export class TagRepository extends Effect.Service<TagRepository>()("@tapline/server/TagRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const insert = SqlSchema.single({
      Request: Tag.insert,
      Result: Tag,
      execute: (row) => sql`insert into tags ${sql.insert(row)} returning *`
    })

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

    return { insert, listByOrganization, attach, tagsOfBand } as const
  })
}) {}
