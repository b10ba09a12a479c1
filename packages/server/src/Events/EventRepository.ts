import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { type CampaignId, EventId, type EventStatus, OrganizationId, type WindowId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie, WholeRow } from "../Database/Rows.js"

/** An events row as PostgreSQL returns it (camelCase); the service decodes it and audits it as is. */
export const EventRow = WholeRow(EventId)
export type EventRow = typeof EventRow.Type

/** What the analytics need of an event: `estimated_attendees` is an integer, the times timestamptz. */
const AnalyticsEvent = Schema.Struct({
  id: Schema.String,
  estimatedAttendees: Schema.NullOr(Schema.Number),
  timezone: Schema.String,
  name: Schema.String,
  startsAt: Schema.NullOr(Schema.DateFromSelf),
  endsAt: Schema.NullOr(Schema.DateFromSelf)
})

const EventKey = Schema.Struct({ id: EventId, organizationId: OrganizationId })

export interface EventQuery {
  readonly deleted: boolean
  readonly status?: EventStatus | undefined
  readonly campaignId?: CampaignId | undefined
  /** Matches name or venue, case-insensitively, as a substring. */
  readonly q?: string | undefined
  readonly after: string | null
  readonly limit: number
}

/** The only SQL on `events`. Reads name the organisation: a foreign id finds nothing. */
export class EventRepository extends Effect.Service<EventRepository>()("@tapline/server/EventRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const list = (organizationId: OrganizationId, query: EventQuery) => {
      const search = query.q === undefined ? null : `%${query.q.replace(/[\\%_]/g, "\\$&")}%`
      return rowsOrDie(
        SqlSchema.findAll({
          Request: OrganizationId,
          Result: EventRow,
          execute: (organizationId) => sql`
        select * from events where organization_id = ${organizationId}
          and deleted_at is ${query.deleted ? sql`not null` : sql`null`}
          ${query.status === undefined ? sql`` : sql`and status = ${query.status}`}
          ${query.campaignId === undefined ? sql`` : sql`and campaign_id = ${query.campaignId}`}
          ${search === null ? sql`` : sql`and (name ilike ${search} or venue ilike ${search})`}
          ${query.after === null ? sql`` : sql`and id < ${query.after}`}
        order by id desc limit ${query.limit + 1}`
        })(organizationId)
      )
    }

    /** `lock` takes the row for the rest of the transaction; `deleted` looks in the trash. */
    const find = (
      organizationId: OrganizationId,
      id: EventId,
      options: { readonly deleted?: boolean; readonly lock?: boolean } = {}
    ) =>
      rowsOrDie(
        SqlSchema.findOne({
          Request: EventKey,
          Result: EventRow,
          execute: ({ id, organizationId }) => sql`
        select * from events where id = ${id} and organization_id = ${organizationId}
          and deleted_at is ${options.deleted ? sql`not null` : sql`null`}
          ${options.lock ? sql`for update` : sql``}`
        })({ id, organizationId })
      ).pipe(Effect.map(Option.getOrUndefined))

    const insertRow = (columns: Readonly<Record<string, unknown>>) =>
      rowsOrDie(
        SqlSchema.single({
          Request: Schema.Void,
          Result: EventRow,
          execute: () => sql`insert into events ${sql.insert(columns)} returning *`
        })(undefined)
      )

    /** Columns as `patchColumns` gives them; the caller has checked the row belongs to the organisation. */
    const updateColumns = (id: EventId, columns: Readonly<Record<string, unknown>>) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: EventId,
          Result: EventRow,
          execute: (id) =>
            sql`update events set ${sql.update(columns)}, updated_at = now() where id = ${id} returning *`
        })(id)
      )

    const setDeleted = (id: EventId, deleted: boolean) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: EventId,
          Result: EventRow,
          execute: (id) => sql`
        update events set deleted_at = ${deleted ? sql`now()` : sql`null`}, updated_at = now()
        where id = ${id} returning *`
        })(id)
      )

    /** A DRAFT copy of an event, its times moved by `shiftSeconds`. */
    const copy = (id: EventId, input: { readonly name: string; readonly shiftSeconds: number }) => {
      const shift = `${input.shiftSeconds} seconds`
      return rowsOrDie(
        SqlSchema.single({
          Request: EventId,
          Result: EventRow,
          execute: (id) => sql`
        insert into events (organization_id, campaign_id, name, venue, address, latitude, longitude, timezone,
          status, schedule_mode, fallback_url, estimated_attendees, assign_on_flag, auto_lifecycle,
          quiet_hours_start, quiet_hours_end, starts_at, ends_at)
        select organization_id, campaign_id, ${input.name}, venue, address, latitude, longitude, timezone,
          'DRAFT', 'scheduled', fallback_url, estimated_attendees, assign_on_flag, auto_lifecycle,
          quiet_hours_start, quiet_hours_end, starts_at + ${shift}::interval, ends_at + ${shift}::interval
        from events where id = ${id}
        returning *`
        })(id)
      )
    }

    /** Manual mode on this window (the hot path serves it until the mode changes). */
    const setManualWindow = (id: EventId, windowId: WindowId) =>
      rowsOrDie(
        SqlSchema.single({
          Request: EventId,
          Result: EventRow,
          execute: (id) => sql`
        update events set schedule_mode = 'manual', manual_window_id = ${windowId}, updated_at = now()
        where id = ${id} returning *`
        })(id)
      )

    /**
     * Whether the event is there (not in the trash), holding it against deletion until the transaction ends
     * (`exclusive`: against any change).
     */
    const hold = (
      organizationId: OrganizationId,
      id: EventId,
      options: { readonly exclusive?: boolean } = {}
    ) =>
      sql`select id from events where id = ${id} and organization_id = ${organizationId} and deleted_at is null
        ${options.exclusive ? sql`for update` : sql`for share`}`.pipe(Effect.map((rows) => rows.length > 0))

    /** Whether the organisation has or had this event: live, in the trash or purged (its taps stay). */
    const exists = (organizationId: OrganizationId, id: EventId) =>
      sql`select 1 from events where id = ${id} and organization_id = ${organizationId}
        union all
        select 1 from purged_events where id = ${id} and organization_id = ${organizationId}`.pipe(
        Effect.map((rows) => rows.length > 0)
      )

    /**
     * One event as its analytics need it, live, in the trash or purged (then from its tombstone): its taps
     * and rollups outlive it.
     */
    const analyticsSubject = (organizationId: OrganizationId, id: EventId) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: EventKey,
          Result: Schema.Struct({ ...AnalyticsEvent.fields, purged: Schema.Boolean }),
          execute: ({ id, organizationId }) => sql`
        select id, estimated_attendees, timezone, name, starts_at, ends_at, false as purged from events
        where id = ${id} and organization_id = ${organizationId}
        union all
        select id, estimated_attendees, timezone, name, starts_at, ends_at, true from purged_events
        where id = ${id} and organization_id = ${organizationId}`
        })({ id, organizationId })
      )

    /**
     * Deletes the event for good (its windows and bands go with it, by their foreign keys) and leaves the
     * tombstone its analytics read.
     */
    const purge = (id: EventId) =>
      sql`
        with gone as (delete from events where id = ${id} returning *)
        insert into purged_events
          (id, organization_id, name, timezone, estimated_attendees, starts_at, ends_at)
        select id, organization_id, name, timezone, estimated_attendees, starts_at, ends_at from gone`

    /** Detaches a campaign's events, live or in the trash, before the campaign is purged; their ids. */
    const unlinkCampaign = (organizationId: OrganizationId, campaignId: CampaignId) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: OrganizationId,
          Result: Schema.Struct({ id: EventId }),
          execute: (organizationId) => sql`
        update events set campaign_id = null, updated_at = now()
        where campaign_id = ${campaignId} and organization_id = ${organizationId}
        returning id`
        })(organizationId)
      ).pipe(Effect.map((rows) => rows.map((row) => row.id)))

    /** Events in the trash since before `before`, across organisations, oldest first (the purge job). */
    const trashedBefore = (before: Date, limit: number) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: Schema.DateFromSelf,
          Result: EventKey,
          execute: (before) => sql`
        select id, organization_id from events where deleted_at < ${before}
        order by deleted_at limit ${limit}`
        })(before)
      )

    /**
     * The live events an analytics question covers: one event, a campaign's, or (neither given) all of the
     * organisation's, with what the summaries need of them.
     */
    const inScope = (
      organizationId: OrganizationId,
      scope: { readonly eventId?: EventId; readonly campaignId?: CampaignId }
    ) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: OrganizationId,
          Result: AnalyticsEvent,
          execute: (organizationId) => sql`
        select id, estimated_attendees, timezone, name, starts_at, ends_at from events
        where organization_id = ${organizationId} and deleted_at is null
          ${scope.eventId === undefined ? sql`` : sql`and id = ${scope.eventId}`}
          ${scope.campaignId === undefined ? sql`` : sql`and campaign_id = ${scope.campaignId}`}
        order by id`
        })(organizationId)
      )

    return {
      inScope,
      exists,
      analyticsSubject,
      purge,
      unlinkCampaign,
      trashedBefore,
      hold,
      setManualWindow,
      list,
      find,
      insertRow,
      updateColumns,
      setDeleted,
      copy
    } as const
  })
}) {}
