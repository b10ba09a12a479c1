import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { EventId, Window, WindowId } from "@tapline/domain"
import { Effect } from "effect"
import { scoped } from "./Scoped.js"

export class WindowRepository extends Effect.Service<WindowRepository>()("@tapline/server/WindowRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** Overlap and start >= end are refused by the database (constraints windows_no_overlap, windows_starts_before_ends). */
    const insert = SqlSchema.single({
      Request: Window.insert,
      Result: Window,
      execute: (row) => sql`insert into windows ${sql.insert(row)} returning *`
    })

    const update = SqlSchema.single({
      Request: Window.update,
      Result: Window,
      execute: (row) => sql`
        update windows set ${sql.update(row, ["id", "organizationId", "eventId"])}
        where id = ${row.id} and organization_id = ${row.organizationId} returning *`
    })

    const listByEvent = SqlSchema.findAll({
      Request: scoped(EventId),
      Result: Window,
      execute: ({ id, organizationId }) => sql`
        select * from windows where event_id = ${id} and organization_id = ${organizationId} order by starts_at`
    })

    const remove = SqlSchema.void({
      Request: scoped(WindowId),
      execute: ({ id, organizationId }) =>
        sql`delete from windows where id = ${id} and organization_id = ${organizationId}`
    })

    return { insert, update, listByEvent, remove } as const
  })
}) {}
