import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import {
  Conflict,
  Event,
  type EventId,
  InvalidRequest,
  NotFound,
  type OrganizationId,
  TaplineApi,
  Window,
  type WindowId
} from "@tapline/domain"
import { DateTime, Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { Audit } from "../Audit/Audit.js"
import { requireRole } from "../Auth/Authorization.js"

const decode = Schema.decodeUnknown(Window)
const decodeEvent = Schema.decodeUnknown(Event)
const isIsoInstant = (key: string) => !Number.isNaN(Date.parse(key)) && /^\d{4}-\d\d-\d\dT/.test(key)

export const WindowsHandlers = HttpApiBuilder.group(TaplineApi, "windows", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes
    const audit = yield* Audit

    /** The event must exist in the organisation (and not be in the trash); locked when windows change. */
    const event = (organizationId: OrganizationId, id: EventId, lock = false) =>
      sql`select * from events where id = ${id} and organization_id = ${organizationId} and deleted_at is null
        ${lock ? sql`for update` : sql``}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined ? new NotFound({ resource: "event", id }) : Effect.succeed(rows[0])
        )
      )

    const load = (eventId: EventId, id: WindowId) =>
      sql`select * from windows where id = ${id} and event_id = ${eventId} for update`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined ? new NotFound({ resource: "window", id }) : Effect.succeed(rows[0])
        )
      )

    const audited = (
      organizationId: OrganizationId,
      action: string,
      id: string,
      oldValues: unknown,
      newValues: unknown
    ) =>
      audit.record({ organizationId, action, resourceType: "window", resourceId: id, oldValues, newValues })

    return handlers
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          yield* event(path.organizationId, path.eventId)
          const after = yield* decodeCursor(urlParams.cursor, isIsoInstant)
          const rows = yield* sql`
            select * from windows where event_id = ${path.eventId} and organization_id = ${path.organizationId}
              ${after === null ? sql`` : sql`and starts_at > ${after}::timestamptz`}
            order by starts_at limit ${urlParams.limit + 1}`.pipe(Effect.orDie)
          const items = yield* Effect.orDie(Effect.forEach(rows, (row) => decode(row)))
          return toPage(items, urlParams.limit, (w) => DateTime.formatIso(w.startsAt))
        })
      )
      .handle("create", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const created = yield* changes.transact(
            Effect.gen(function* () {
              yield* event(path.organizationId, path.eventId, true)
              const [row] = yield* sql`insert into windows ${sql.insert({
                organizationId: path.organizationId,
                eventId: path.eventId,
                ...patchColumns(payload)
              })} returning *`
              const window = yield* Effect.orDie(decode(row))
              yield* audited(path.organizationId, "window.create", window.id, null, row)
              return window
            })
          )
          yield* changes.project(path.organizationId)
          return created
        })
      )
      .handle("replace", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const replaced = yield* changes
            .transact(
              Effect.gen(function* () {
                yield* event(path.organizationId, path.eventId, true)
                const before =
                  yield* sql`select * from windows where event_id = ${path.eventId} order by starts_at`
                yield* sql`delete from windows where event_id = ${path.eventId}`
                const rows =
                  payload.windows.length === 0
                    ? []
                    : yield* sql`insert into windows ${sql.insert(
                        payload.windows.map((window) => ({
                          organizationId: path.organizationId,
                          eventId: path.eventId,
                          ...patchColumns(window)
                        }))
                      )} returning *`
                const windows = yield* Effect.orDie(Effect.forEach(rows, (row) => decode(row)))
                yield* audit.record({
                  organizationId: path.organizationId,
                  action: "window.replace",
                  resourceType: "event",
                  resourceId: path.eventId,
                  oldValues: before,
                  newValues: rows
                })
                return [...windows].sort((a, b) => a.startsAt.epochMillis - b.startsAt.epochMillis)
              })
            )
            .pipe(
              // The transaction rolled back: the event keeps the windows it had, and the caller must know it.
              Effect.catchTags({
                Conflict: (error) =>
                  Effect.fail(new Conflict({ message: `${error.message}; nothing was changed` })),
                InvalidRequest: (error) =>
                  Effect.fail(new InvalidRequest({ message: `${error.message}; nothing was changed` }))
              })
            )
          yield* changes.project(path.organizationId)
          return replaced
        })
      )
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const columns = patchColumns(payload)
          const updated = yield* changes.transact(
            Effect.gen(function* () {
              yield* event(path.organizationId, path.eventId, true)
              const before = yield* load(path.eventId, path.windowId)
              if (Object.keys(columns).length === 0) return yield* Effect.orDie(decode(before))
              const [after] = yield* sql`update windows set ${sql.update(columns)}, updated_at = now()
                where id = ${path.windowId} returning *`
              yield* audited(path.organizationId, "window.update", path.windowId, before, after)
              return yield* Effect.orDie(decode(after))
            })
          )
          yield* changes.project(path.organizationId)
          return updated
        })
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          yield* changes.transact(
            Effect.gen(function* () {
              yield* event(path.organizationId, path.eventId, true)
              const before = yield* load(path.eventId, path.windowId)
              yield* sql`delete from windows where id = ${path.windowId}`
              yield* audited(path.organizationId, "window.delete", path.windowId, before, null)
            })
          )
          yield* changes.project(path.organizationId)
        })
      )
      .handle("activate", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const updated = yield* changes.transact(
            Effect.gen(function* () {
              const before = yield* event(path.organizationId, path.eventId, true)
              yield* load(path.eventId, path.windowId)
              const [after] =
                yield* sql`update events set schedule_mode = 'manual', manual_window_id = ${path.windowId},
                updated_at = now() where id = ${path.eventId} returning *`
              yield* audit.record({
                organizationId: path.organizationId,
                action: "window.activate",
                resourceType: "event",
                resourceId: path.eventId,
                oldValues: before,
                newValues: after
              })
              return yield* Effect.orDie(decodeEvent(after))
            })
          )
          yield* changes.project(path.organizationId)
          return updated
        })
      )
  })
)
