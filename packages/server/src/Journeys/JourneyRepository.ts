import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { type EventId, Journey, JourneyId, OrganizationId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"

/** A journeys row as PostgreSQL returns it: the trigger as its columns, the driver's dates. */
export const JourneyRow = Schema.Struct({
  ...Journey.fields,
  trigger: Schema.String,
  windowType: Schema.NullOr(Schema.String),
  afterMinutes: Schema.NullOr(Schema.Number),
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf
})
export type JourneyRow = typeof JourneyRow.Type

/** The columns a write sets: the trigger as its three columns. */
export interface JourneyColumns {
  readonly name?: string
  readonly trigger?: string
  readonly windowType?: string | null
  readonly afterMinutes?: number | null
  readonly delayMinutes?: number
  readonly channel?: string
  readonly subject?: string
  readonly body?: string
  readonly enabled?: boolean
}

export interface JourneyQuery {
  readonly eventId?: EventId | undefined
  readonly after: string | null
  readonly limit: number
}

/** The only SQL on `journeys`. Every statement names the organisation: a foreign id finds nothing. */
export class JourneyRepository extends Effect.Service<JourneyRepository>()(
  "@tapline/server/JourneyRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const list = (organizationId: OrganizationId, query: JourneyQuery) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: OrganizationId,
            Result: JourneyRow,
            execute: (organizationId) => sql`
          select * from journeys where organization_id = ${organizationId}
            ${query.eventId === undefined ? sql`` : sql`and event_id = ${query.eventId}`}
            ${query.after === null ? sql`` : sql`and id < ${query.after}`}
          order by id desc limit ${query.limit + 1}`
          })(organizationId)
        )

      const find = (
        organizationId: OrganizationId,
        id: JourneyId,
        options: { readonly lock?: boolean } = {}
      ) =>
        rowsOrDie(
          SqlSchema.findOne({
            Request: JourneyId,
            Result: JourneyRow,
            execute: (
              id
            ) => sql`select * from journeys where id = ${id} and organization_id = ${organizationId}
            ${options.lock ? sql`for update` : sql``}`
          })(id)
        ).pipe(Effect.map(Option.getOrUndefined))

      /** Whether the event is the organisation's and not in the trash. */
      const eventExists = (organizationId: OrganizationId, eventId: EventId) =>
        Effect.map(
          sql`select 1 from events where id = ${eventId} and organization_id = ${organizationId}
          and deleted_at is null`,
          (rows) => rows.length > 0
        )

      const eventName = (organizationId: OrganizationId, eventId: EventId) =>
        Effect.map(
          sql<{
            name: string
          }>`select name from events where id = ${eventId} and organization_id = ${organizationId}`,
          (rows) => rows[0]?.name ?? ""
        )

      const insert = (
        row: JourneyColumns & { readonly organizationId: OrganizationId; readonly eventId: EventId }
      ) =>
        rowsOrDie(
          SqlSchema.single({
            Request: Schema.Void,
            Result: JourneyRow,
            execute: () => sql`insert into journeys ${sql.insert({ ...row })} returning *`
          })(undefined)
        )

      const update = (id: JourneyId, columns: JourneyColumns) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: JourneyId,
            Result: JourneyRow,
            execute: (id) =>
              sql`update journeys set ${sql.update({ ...columns })}, updated_at = now() where id = ${id} returning *`
          })(id)
        )

      /** Deletes the journey and its delivery log. */
      const remove = (id: JourneyId) => sql`delete from journeys where id = ${id}`

      return { list, find, eventExists, eventName, insert, update, remove } as const
    })
  }
) {}
