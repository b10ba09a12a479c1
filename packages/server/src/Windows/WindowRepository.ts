import * as SqlClient from "@effect/sql/SqlClient"
import type { EventId, OrganizationId, WindowId } from "@tapline/domain"
import { Effect } from "effect"

/** A windows row as PostgreSQL returns it (camelCase); the service decodes it and audits it as is. */
export type WindowRow = { readonly id: WindowId } & Readonly<Record<string, unknown>>

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
      sql<WindowRow>`
        select * from windows where event_id = ${eventId} and organization_id = ${organizationId}
          ${query.after === null ? sql`` : sql`and starts_at > ${query.after}::timestamptz`}
        order by starts_at limit ${query.limit + 1}`

    /** A window of the event, locked for the rest of the transaction. */
    const lock = (eventId: EventId, id: WindowId) =>
      sql<WindowRow>`select * from windows where id = ${id} and event_id = ${eventId} for update`.pipe(
        Effect.map((rows) => rows[0])
      )

    const rowsOfEvent = (eventId: EventId) =>
      sql<WindowRow>`select * from windows where event_id = ${eventId} order by starts_at`

    /** Columns as `patchColumns` gives them, with the organisation and event of each. */
    const insertRows = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>) =>
      rows.length === 0
        ? Effect.succeed([])
        : sql<WindowRow>`insert into windows ${sql.insert(rows)} returning *`

    const updateColumns = (id: WindowId, columns: Readonly<Record<string, unknown>>) =>
      sql<WindowRow>`update windows set ${sql.update(columns)}, updated_at = now() where id = ${id} returning *`

    const removeRow = (id: WindowId) => sql`delete from windows where id = ${id}`

    const removeAllOfEvent = (eventId: EventId) => sql`delete from windows where event_id = ${eventId}`

    /** The windows of one event copied into another, moved by `shiftSeconds` (an event's duplicate). */
    const copy = (from: EventId, to: EventId, shiftSeconds: number) => {
      const shift = `${shiftSeconds} seconds`
      return sql`
        insert into windows (organization_id, event_id, type, title, url, starts_at, ends_at)
        select organization_id, ${to}, type, title, url, starts_at + ${shift}::interval, ends_at + ${shift}::interval
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
