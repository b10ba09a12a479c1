import * as SqlClient from "@effect/sql/SqlClient"
import type { CampaignId, EventId, EventStatus, OrganizationId, WindowId } from "@tapline/domain"
import { Effect } from "effect"

/** An events row as PostgreSQL returns it (camelCase); the service decodes it and audits it as is. */
export type EventRow = { readonly id: EventId } & Readonly<Record<string, unknown>>

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
      return sql<EventRow>`
        select * from events where organization_id = ${organizationId}
          and deleted_at is ${query.deleted ? sql`not null` : sql`null`}
          ${query.status === undefined ? sql`` : sql`and status = ${query.status}`}
          ${query.campaignId === undefined ? sql`` : sql`and campaign_id = ${query.campaignId}`}
          ${search === null ? sql`` : sql`and (name ilike ${search} or venue ilike ${search})`}
          ${query.after === null ? sql`` : sql`and id < ${query.after}`}
        order by id desc limit ${query.limit + 1}`
    }

    /** `lock` takes the row for the rest of the transaction; `deleted` looks in the trash. */
    const find = (
      organizationId: OrganizationId,
      id: EventId,
      options: { readonly deleted?: boolean; readonly lock?: boolean } = {}
    ) =>
      sql<EventRow>`
        select * from events where id = ${id} and organization_id = ${organizationId}
          and deleted_at is ${options.deleted ? sql`not null` : sql`null`}
          ${options.lock ? sql`for update` : sql``}`.pipe(Effect.map((rows) => rows[0]))

    const insertRow = (columns: Readonly<Record<string, unknown>>) =>
      sql<EventRow>`insert into events ${sql.insert(columns)} returning *`.pipe(
        Effect.map((rows) => rows[0]!)
      )

    /** Columns as `patchColumns` gives them; the caller has checked the row belongs to the organisation. */
    const updateColumns = (id: EventId, columns: Readonly<Record<string, unknown>>) =>
      sql<EventRow>`update events set ${sql.update(columns)}, updated_at = now() where id = ${id} returning *`

    const setDeleted = (id: EventId, deleted: boolean) =>
      sql<EventRow>`
        update events set deleted_at = ${deleted ? sql`now()` : sql`null`}, updated_at = now()
        where id = ${id} returning *`

    /** A DRAFT copy of an event, its times moved by `shiftSeconds`. */
    const copy = (id: EventId, input: { readonly name: string; readonly shiftSeconds: number }) => {
      const shift = `${input.shiftSeconds} seconds`
      return sql<EventRow>`
        insert into events (organization_id, campaign_id, name, venue, address, latitude, longitude, timezone,
          status, schedule_mode, fallback_url, estimated_attendees, assign_on_flag, auto_lifecycle,
          starts_at, ends_at)
        select organization_id, campaign_id, ${input.name}, venue, address, latitude, longitude, timezone,
          'DRAFT', 'scheduled', fallback_url, estimated_attendees, assign_on_flag, auto_lifecycle,
          starts_at + ${shift}::interval, ends_at + ${shift}::interval
        from events where id = ${id}
        returning *`.pipe(Effect.map((rows) => rows[0]!))
    }

    /** Manual mode on this window (the hot path serves it until the mode changes). */
    const setManualWindow = (id: EventId, windowId: WindowId) =>
      sql<EventRow>`
        update events set schedule_mode = 'manual', manual_window_id = ${windowId}, updated_at = now()
        where id = ${id} returning *`.pipe(Effect.map((rows) => rows[0]!))

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
      sql<{
        id: string
        estimatedAttendees: number | null
        timezone: string
        name: string
        startsAt: Date | null
        endsAt: Date | null
        purged: boolean
      }>`
        select id, estimated_attendees, timezone, name, starts_at, ends_at, false as purged from events
        where id = ${id} and organization_id = ${organizationId}
        union all
        select id, estimated_attendees, timezone, name, starts_at, ends_at, true from purged_events
        where id = ${id} and organization_id = ${organizationId}`

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
      sql<{ id: EventId }>`
        update events set campaign_id = null, updated_at = now()
        where campaign_id = ${campaignId} and organization_id = ${organizationId}
        returning id`.pipe(Effect.map((rows) => rows.map((row) => row.id)))

    /** Events in the trash since before `before`, across organisations, oldest first (the purge job). */
    const trashedBefore = (before: Date, limit: number) =>
      sql<{ id: EventId; organizationId: OrganizationId }>`
        select id, organization_id from events where deleted_at < ${before}
        order by deleted_at limit ${limit}`

    /**
     * The live events an analytics question covers: one event, a campaign's, or (neither given) all of the
     * organisation's, with what the summaries need of them.
     */
    const inScope = (
      organizationId: OrganizationId,
      scope: { readonly eventId?: EventId; readonly campaignId?: CampaignId }
    ) =>
      sql<{
        id: string
        estimatedAttendees: number | null
        timezone: string
        name: string
        startsAt: Date | null
        endsAt: Date | null
      }>`
        select id, estimated_attendees, timezone, name, starts_at, ends_at from events
        where organization_id = ${organizationId} and deleted_at is null
          ${scope.eventId === undefined ? sql`` : sql`and id = ${scope.eventId}`}
          ${scope.campaignId === undefined ? sql`` : sql`and campaign_id = ${scope.campaignId}`}
        order by id`

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
