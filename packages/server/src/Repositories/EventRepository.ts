import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Event, EventId, OrganizationId } from "@tapline/domain"
import { Effect } from "effect"
import { scoped } from "./Scoped.js"

export class EventRepository extends Effect.Service<EventRepository>()("@tapline/server/EventRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const insert = SqlSchema.single({
      Request: Event.insert,
      Result: Event,
      execute: (row) => sql`insert into events ${sql.insert(row)} returning *`
    })

    const update = SqlSchema.single({
      Request: Event.update,
      Result: Event,
      execute: (row) => sql`
        update events set ${sql.update(row, ["id", "organizationId"])}
        where id = ${row.id} and organization_id = ${row.organizationId} and deleted_at is null
        returning *`
    })

    const findById = SqlSchema.findOne({
      Request: scoped(EventId),
      Result: Event,
      execute: ({ id, organizationId }) => sql`
        select * from events where id = ${id} and organization_id = ${organizationId} and deleted_at is null`
    })

    const listByOrganization = SqlSchema.findAll({
      Request: OrganizationId,
      Result: Event,
      execute: (organizationId) => sql`
        select * from events where organization_id = ${organizationId} and deleted_at is null order by id`
    })

    return { insert, update, findById, listByOrganization } as const
  })
}) {}
