import {
  Conflict,
  type CreateWindow,
  Event,
  type EventId,
  InvalidRequest,
  type OrganizationId,
  type UpdateWindow,
  Window,
  type WindowId
} from "@tapline/domain"
import { DateTime, Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { EventRepository, type EventRow } from "../Events/EventRepository.js"
import { WindowRepository, type WindowRow } from "./WindowRepository.js"

/** Window pages are ordered by start time: their cursors hold an instant. */
const isIsoInstant = (key: string) => !Number.isNaN(Date.parse(key)) && /^\d{4}-\d\d-\d\dT/.test(key)

const decode = (row: WindowRow) => Effect.orDie(Schema.decodeUnknown(Window)(row))
const decodeEvent = (row: unknown) => Effect.orDie(Schema.decodeUnknown(Event)(row))

/**
 * The time windows of an event (before, during, after). The database refuses overlaps and windows that end
 * before they start; every change locks the event first, so concurrent edits of one event queue up.
 */
export class Windows extends Effect.Service<Windows>()("@tapline/server/Windows", {
  effect: Effect.gen(function* () {
    const repository = yield* WindowRepository
    const events = yield* EventRepository
    const changes = yield* Changes

    /** The event must exist in the organisation and not be in the trash. */
    const event = (organizationId: OrganizationId, id: EventId, options: { readonly lock?: boolean } = {}) =>
      changes.found("event", id, events.find(organizationId, id, options))

    const lock = (eventId: EventId, id: WindowId) => changes.found("window", id, repository.lock(eventId, id))

    /**
     * A change of the event's windows in one transaction, the event locked first (its row is handed to the
     * body), projected after it commits.
     */
    const changeOf = <A, E, R>(
      organizationId: OrganizationId,
      eventId: EventId,
      body: Effect.Effect<A, E, R> | ((event: EventRow) => Effect.Effect<A, E, R>)
    ) =>
      changes
        .transact(
          Effect.flatMap(event(organizationId, eventId, { lock: true }), (row) =>
            Effect.isEffect(body) ? body : body(row)
          )
        )
        .pipe(Effect.tap(() => changes.project(organizationId)))

    const audited = (
      organizationId: OrganizationId,
      action: string,
      id: string,
      oldValues: unknown,
      newValues: unknown
    ) =>
      changes.record({ organizationId, action, resourceType: "window", resourceId: id, oldValues, newValues })

    /** Pages are ordered by start time; the cursor is the last start. */
    const list = Effect.fn("Windows.list")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      request: PageRequest
    ) {
      yield* event(organizationId, eventId)
      const fetch = (query: { after: string | null; limit: number }) =>
        repository.list(organizationId, eventId, query)
      return yield* listPage(
        request,
        fetch,
        decode,
        (window) => DateTime.formatIso(window.startsAt),
        isIsoInstant
      )
    })

    const create = Effect.fn("Windows.create")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      input: typeof CreateWindow.Type
    ) {
      return yield* changeOf(
        organizationId,
        eventId,
        Effect.gen(function* () {
          const [row] = yield* repository.insertRows([{ organizationId, eventId, ...patchColumns(input) }])
          yield* audited(organizationId, "window.create", row!.id, null, row)
          return yield* decode(row!)
        })
      )
    })

    /** All windows at once: either the new set replaces the old one whole, or nothing changes. */
    const replace = Effect.fn("Windows.replace")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      input: ReadonlyArray<typeof CreateWindow.Type>
    ) {
      return yield* changeOf(
        organizationId,
        eventId,
        Effect.gen(function* () {
          const before = yield* repository.rowsOfEvent(eventId)
          yield* repository.removeAllOfEvent(eventId)
          const rows = yield* repository.insertRows(
            input.map((window) => ({ organizationId, eventId, ...patchColumns(window) }))
          )
          const windows = yield* Effect.forEach(rows, decode)
          yield* changes.record({
            organizationId,
            action: "window.replace",
            resourceType: "event",
            resourceId: eventId,
            oldValues: before,
            newValues: rows
          })
          return [...windows].sort((a, b) => a.startsAt.epochMillis - b.startsAt.epochMillis)
        })
      ).pipe(
        // The transaction rolled back: the event keeps the windows it had, and the caller must know it.
        Effect.catchTags({
          Conflict: (error) =>
            Effect.fail(new Conflict({ message: `${error.message}; nothing was changed` })),
          InvalidRequest: (error) =>
            Effect.fail(new InvalidRequest({ message: `${error.message}; nothing was changed` }))
        })
      )
    })

    const update = Effect.fn("Windows.update")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      id: WindowId,
      input: typeof UpdateWindow.Type
    ) {
      const columns = patchColumns(input)
      return yield* changeOf(
        organizationId,
        eventId,
        Effect.gen(function* () {
          const before = yield* lock(eventId, id)
          if (Object.keys(columns).length === 0) return yield* decode(before)
          const [after] = yield* repository.updateColumns(id, columns)
          yield* audited(organizationId, "window.update", id, before, after)
          return yield* decode(after!)
        })
      )
    })

    const remove = Effect.fn("Windows.remove")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      id: WindowId
    ) {
      yield* changeOf(
        organizationId,
        eventId,
        Effect.gen(function* () {
          const before = yield* lock(eventId, id)
          yield* repository.removeRow(id)
          yield* audited(organizationId, "window.delete", id, before, null)
        })
      )
    })

    /** Manual mode: the hot path serves this window, whatever the clock says, until the mode changes. */
    const activate = Effect.fn("Windows.activate")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      id: WindowId
    ) {
      return yield* changeOf(organizationId, eventId, (before) =>
        Effect.gen(function* () {
          yield* lock(eventId, id)
          const after = yield* events.setManualWindow(eventId, id)
          yield* changes.record({
            organizationId,
            action: "window.activate",
            resourceType: "event",
            resourceId: eventId,
            oldValues: before,
            newValues: after
          })
          return yield* decodeEvent(after)
        })
      )
    })

    return { list, create, replace, update, remove, activate } as const
  }),
  dependencies: [WindowRepository.Default, EventRepository.Default]
}) {}
