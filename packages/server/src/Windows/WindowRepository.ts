import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { EventId, type OrganizationId, WindowId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie, WholeRow } from "../Database/Rows.js"

/** A windows row as PostgreSQL returns it (camelCase); the service decodes it and audits it as is. */
export const WindowRow = WholeRow(WindowId)
export type WindowRow = typeof WindowRow.Type

/** The only SQL on `windows`. */
export class WindowRepository extends Effect.Service<WindowRepository>()("@tapline/server/WindowRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** Overlap and start >= end are refused by the database (constraints windows_no_overlap, windows_starts_before_ends). */

    const list = (
      organizationId: OrganizationId,
      eventId: EventId,
      query: { readonly after: string | null; readonly limit: number }
    ) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: EventId,
          Result: WindowRow,
          execute: (eventId) => sql`
        select * from windows where event_id = ${eventId} and organization_id = ${organizationId}
          ${query.after === null ? sql`` : sql`and starts_at > ${query.after}::timestamptz`}
        order by starts_at limit ${query.limit + 1}`
        })(eventId)
      )

    /** A window of the event, locked for the rest of the transaction. */
    const lock = (eventId: EventId, id: WindowId) =>
      rowsOrDie(
        SqlSchema.findOne({
          Request: WindowId,
          Result: WindowRow,
          execute: (id) => sql`select * from windows where id = ${id} and event_id = ${eventId} for update`
        })(id)
      ).pipe(Effect.map(Option.getOrUndefined))

    const rowsOfEvent = (eventId: EventId) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: EventId,
          Result: WindowRow,
          execute: (eventId) => sql`select * from windows where event_id = ${eventId} order by starts_at`
        })(eventId)
      )

    /** Columns as `patchColumns` gives them, with the organisation and event of each. */
    const insertRows = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>) =>
      rows.length === 0
        ? Effect.succeed([])
        : rowsOrDie(
            SqlSchema.findAll({
              Request: Schema.Void,
              Result: WindowRow,
              execute: () => sql`insert into windows ${sql.insert(rows)} returning *`
            })(undefined)
          )

    const updateColumns = (id: WindowId, columns: Readonly<Record<string, unknown>>) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: WindowId,
          Result: WindowRow,
          execute: (id) =>
            sql`update windows set ${sql.update(columns)}, updated_at = now() where id = ${id} returning *`
        })(id)
      )

    const removeRow = (id: WindowId) => sql`delete from windows where id = ${id}`

    const removeAllOfEvent = (eventId: EventId) => sql`delete from windows where event_id = ${eventId}`

    /** The windows of one event copied into another, moved by `shiftSeconds` (an event's duplicate). */
    const copy = (from: EventId, to: EventId, shiftSeconds: number) => {
      const shift = `${shiftSeconds} seconds`
      return sql`
        insert into windows (organization_id, event_id, type, title, url, destination, starts_at, ends_at)
        select organization_id, ${to}, type, title, url, destination, starts_at + ${shift}::interval, ends_at + ${shift}::interval
        from windows where event_id = ${from} order by starts_at`
    }

    return {
      list,
      lock,
      rowsOfEvent,
      insertRows,
      updateColumns,
      removeRow,
      removeAllOfEvent,
      copy
    } as const
  })
}) {}
