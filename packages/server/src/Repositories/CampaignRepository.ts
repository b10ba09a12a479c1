import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Campaign, CampaignId, OrganizationId } from "@tapline/domain"
import { Effect } from "effect"
import { scoped } from "./Scoped.js"

export class CampaignRepository extends Effect.Service<CampaignRepository>()(
  "@tapline/server/CampaignRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const insert = SqlSchema.single({
        Request: Campaign.insert,
        Result: Campaign,
        execute: (row) => sql`insert into campaigns ${sql.insert(row)} returning *`
      })

      const findById = SqlSchema.findOne({
        Request: scoped(CampaignId),
        Result: Campaign,
        execute: ({ id, organizationId }) => sql`
        select * from campaigns where id = ${id} and organization_id = ${organizationId} and deleted_at is null`
      })

      const listByOrganization = SqlSchema.findAll({
        Request: OrganizationId,
        Result: Campaign,
        execute: (organizationId) => sql`
        select * from campaigns where organization_id = ${organizationId} and deleted_at is null order by id`
      })

      return { insert, findById, listByOrganization } as const
    })
  }
) {}
