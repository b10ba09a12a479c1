import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import {
  Conflict,
  Event,
  type EventId,
  type EventStatus,
  NotFound,
  type OrganizationId,
  TaplineApi
} from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { Audit } from "../Audit/Audit.js"
import { requireRole } from "../Auth/Authorization.js"

const decode = Schema.decodeUnknown(Event)

/** The lifecycle of DESIGN.md §2; COMPLETED and CANCELLED are final. */
export const transitions: Record<EventStatus, ReadonlyArray<EventStatus>> = {
  DRAFT: ["ACTIVE", "CANCELLED"],
  ACTIVE: ["COMPLETED", "CANCELLED"],
  COMPLETED: [],
  CANCELLED: []
}

export const EventsHandlers = HttpApiBuilder.group(TaplineApi, "events", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes
    const audit = yield* Audit

    const load = (
      organizationId: OrganizationId,
      id: EventId,
      options: { deleted?: boolean; lock?: boolean } = {}
    ) =>
      sql<Record<string, unknown>>`
        select * from events where id = ${id} and organization_id = ${organizationId}
          and deleted_at is ${options.deleted ? sql`not null` : sql`null`} ${options.lock ? sql`for update` : sql``}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined ? new NotFound({ resource: "event", id }) : Effect.succeed(rows[0])
        )
      )

    /** Locks the event, applies `update`, audits old and new rows, projects the organisation after commit. */
    const change = <E>(
      organizationId: OrganizationId,
      id: EventId,
      action: string,
      update: (
        before: Record<string, unknown>
      ) => Effect.Effect<ReadonlyArray<object>, E | SqlError.SqlError>,
      options: { deleted?: boolean } = {}
    ) =>
      changes
        .transact(
          Effect.gen(function* () {
            const before = yield* load(organizationId, id, { ...options, lock: true })
            const [after] = yield* update(before)
            if (after !== undefined) {
              yield* audit.record({
                organizationId,
                action,
                resourceType: "event",
                resourceId: id,
                oldValues: before,
                newValues: after
              })
            }
            return yield* Effect.orDie(decode(after ?? before))
          })
        )
        .pipe(Effect.tap(() => changes.project(organizationId)))

    return handlers
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const after = yield* decodeCursor(urlParams.cursor)
          const search = urlParams.q === undefined ? null : `%${urlParams.q.replace(/[\\%_]/g, "\\$&")}%`
          const rows = yield* sql`
            select * from events where organization_id = ${path.organizationId}
              and deleted_at is ${urlParams.deleted ? sql`not null` : sql`null`}
              ${urlParams.status === undefined ? sql`` : sql`and status = ${urlParams.status}`}
              ${urlParams.campaignId === undefined ? sql`` : sql`and campaign_id = ${urlParams.campaignId}`}
              ${search === null ? sql`` : sql`and (name ilike ${search} or venue ilike ${search})`}
              ${after === null ? sql`` : sql`and id < ${after}`}
            order by id desc limit ${urlParams.limit + 1}`.pipe(Effect.orDie)
          const items = yield* Effect.orDie(Effect.forEach(rows, (row) => decode(row)))
          return toPage(items, urlParams.limit, (e) => e.id)
        })
      )
      .handle("create", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const created = yield* changes.transact(
            Effect.gen(function* () {
              const [row] = yield* sql`insert into events ${sql.insert({
                organizationId: path.organizationId,
                campaignId: null,
                venue: null,
                address: null,
                latitude: null,
                longitude: null,
                fallbackUrl: null,
                estimatedAttendees: null,
                startsAt: null,
                endsAt: null,
                ...patchColumns(payload),
                status: "DRAFT",
                scheduleMode: "scheduled"
              })} returning *`
              const event = yield* Effect.orDie(decode(row))
              yield* audit.record({
                organizationId: path.organizationId,
                action: "event.create",
                resourceType: "event",
                resourceId: event.id,
                newValues: row
              })
              return event
            })
          )
          yield* changes.project(path.organizationId)
          return created
        })
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          return yield* Effect.orDie(decode(yield* load(path.organizationId, path.eventId)))
        })
      )
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const columns = patchColumns(payload)
          return yield* change(path.organizationId, path.eventId, "event.update", () =>
            Object.keys(columns).length === 0
              ? Effect.succeed([])
              : sql`update events set ${sql.update(columns)}, updated_at = now() where id = ${path.eventId} returning *`
          )
        })
      )
      .handle("changeStatus", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          return yield* change(path.organizationId, path.eventId, "event.status", (before) => {
            const from = before.status as EventStatus
            if (from === payload.status) return Effect.succeed([])
            if (!transitions[from].includes(payload.status)) {
              return Effect.fail(
                new Conflict({ message: `an event cannot go from ${from} to ${payload.status}` })
              )
            }
            return sql`update events set status = ${payload.status}, updated_at = now()
              where id = ${path.eventId} returning *`
          })
        })
      )
      .handle("duplicate", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const shift = `${payload.shiftSeconds} seconds`
          const copy = yield* changes.transact(
            Effect.gen(function* () {
              const source = yield* load(path.organizationId, path.eventId)
              const name = payload.name ?? `${String(source.name)} (copy)`.slice(0, 200)
              const [row] = yield* sql`
                insert into events (organization_id, campaign_id, name, venue, address, latitude, longitude, timezone,
                  status, schedule_mode, fallback_url, estimated_attendees, assign_on_flag, auto_lifecycle,
                  starts_at, ends_at)
                select organization_id, campaign_id, ${name}, venue, address, latitude, longitude, timezone,
                  'DRAFT', 'scheduled', fallback_url, estimated_attendees, assign_on_flag, auto_lifecycle,
                  starts_at + ${shift}::interval, ends_at + ${shift}::interval
                from events where id = ${path.eventId}
                returning *`
              const event = yield* Effect.orDie(decode(row))
              yield* sql`
                insert into windows (organization_id, event_id, type, title, url, starts_at, ends_at)
                select organization_id, ${event.id}, type, title, url, starts_at + ${shift}::interval,
                  ends_at + ${shift}::interval
                from windows where event_id = ${path.eventId} order by starts_at`
              yield* audit.record({
                organizationId: path.organizationId,
                action: "event.duplicate",
                resourceType: "event",
                resourceId: event.id,
                newValues: { ...row, duplicatedFrom: path.eventId }
              })
              return event
            })
          )
          yield* changes.project(path.organizationId)
          return copy
        })
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          yield* change(
            path.organizationId,
            path.eventId,
            "event.delete",
            () =>
              sql`update events set deleted_at = now(), updated_at = now() where id = ${path.eventId} returning *`
          )
        })
      )
      .handle("restore", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          return yield* change(
            path.organizationId,
            path.eventId,
            "event.restore",
            () =>
              sql`update events set deleted_at = null, updated_at = now() where id = ${path.eventId} returning *`,
            { deleted: true }
          )
        })
      )
  })
)
