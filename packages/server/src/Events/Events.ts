import type { SqlError } from "@effect/sql/SqlError"
import {
  Conflict,
  type CreateEvent,
  type DuplicateEvent,
  Event,
  type EventId,
  EventLifecycle,
  type EventStatus,
  InvalidRequest,
  type OrganizationId,
  type UpdateEvent
} from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { BandRepository } from "../Bands/BandRepository.js"
import { WindowRepository } from "../Windows/WindowRepository.js"
import { type EventQuery, EventRepository, type EventRow } from "./EventRepository.js"

const decode = (row: EventRow) => Effect.orDie(Schema.decodeUnknown(Event)(row))

/** Quiet hours are a span: a start without an end (or the reverse) is refused, naming the one missing. */
const quietHoursPaired = (start: unknown, end: unknown) =>
  (start === null || start === undefined) === (end === null || end === undefined)
    ? Effect.void
    : Effect.fail(
        new InvalidRequest({
          message: `${start === null || start === undefined ? "quietHoursStart" : "quietHoursEnd"}: quiet hours need a start and an end (or neither)`
        })
      )

/** Events of an organisation. Every change is projected into the hot path's read model after it commits. */
export class Events extends Effect.Service<Events>()("@tapline/server/Events", {
  effect: Effect.gen(function* () {
    const repository = yield* EventRepository
    const windows = yield* WindowRepository
    const bands = yield* BandRepository
    const changes = yield* Changes

    const list = Effect.fn("Events.list")(function* (
      organizationId: OrganizationId,
      request: PageRequest<Omit<EventQuery, "after" | "limit">>
    ) {
      return yield* listPage(
        request,
        (query) => repository.list(organizationId, query),
        decode,
        (e) => e.id
      )
    })

    const find = (organizationId: OrganizationId, id: EventId) =>
      changes.found("event", id, repository.find(organizationId, id))

    const get = Effect.fn("Events.get")(function* (organizationId: OrganizationId, id: EventId) {
      return yield* decode(yield* find(organizationId, id))
    })

    /** A new event is a DRAFT on its scheduled windows. */
    const create = Effect.fn("Events.create")(function* (
      organizationId: OrganizationId,
      input: typeof CreateEvent.Type
    ) {
      yield* quietHoursPaired(input.quietHoursStart, input.quietHoursEnd)
      const row = yield* changes.createRow({
        organizationId,
        resourceType: "event",
        action: "event.create",
        insert: repository.insertRow({
          organizationId,
          campaignId: null,
          venue: null,
          address: null,
          latitude: null,
          longitude: null,
          fallbackUrl: null,
          estimatedAttendees: null,
          startsAt: null,
          endsAt: null,
          ...patchColumns(input),
          status: "DRAFT",
          scheduleMode: "scheduled"
        })
      })
      yield* changes.project(organizationId)
      return yield* decode(row)
    })

    const change = <E>(
      organizationId: OrganizationId,
      id: EventId,
      action: string,
      apply: (before: EventRow) => Effect.Effect<ReadonlyArray<EventRow>, E | SqlError>,
      options: { readonly deleted?: boolean } = {}
    ) =>
      changes
        .changeRow({
          organizationId,
          resourceType: "event",
          resourceId: id,
          action,
          lock: repository.find(organizationId, id, { ...options, lock: true }),
          apply
        })
        .pipe(
          Effect.tap(() => changes.project(organizationId)),
          Effect.flatMap(decode)
        )

    const update = Effect.fn("Events.update")(function* (
      organizationId: OrganizationId,
      id: EventId,
      input: typeof UpdateEvent.Type
    ) {
      const columns = patchColumns(input)
      return yield* change(organizationId, id, "event.update", (before) =>
        Object.keys(columns).length === 0
          ? Effect.succeed([])
          : Effect.zipRight(
              quietHoursPaired(
                input.quietHoursStart === undefined ? before.quietHoursStart : input.quietHoursStart,
                input.quietHoursEnd === undefined ? before.quietHoursEnd : input.quietHoursEnd
              ),
              repository.updateColumns(id, columns)
            )
      )
    })

    /** Only the moves of `EventLifecycle` (the console offers the same); the status it has changes nothing. */
    const changeStatus = Effect.fn("Events.changeStatus")(function* (
      organizationId: OrganizationId,
      id: EventId,
      status: EventStatus
    ) {
      return yield* change(organizationId, id, "event.status", (before) => {
        const from = before.status as EventStatus
        if (from === status) return Effect.succeed([])
        if (!EventLifecycle.canTransition(from, status)) {
          return Effect.fail(new Conflict({ message: `an event cannot go from ${from} to ${status}` }))
        }
        return repository.updateColumns(id, { status })
      })
    })

    /** A DRAFT copy with its windows, all moved by `shiftSeconds`; bands are not copied. */
    const duplicate = Effect.fn("Events.duplicate")(function* (
      organizationId: OrganizationId,
      id: EventId,
      input: typeof DuplicateEvent.Type
    ) {
      const row = yield* changes.transact(
        Effect.gen(function* () {
          const source = yield* find(organizationId, id)
          const name = input.name ?? `${String(source.name)} (copy)`.slice(0, 200)
          const row = yield* repository.copy(id, { name, shiftSeconds: input.shiftSeconds })
          yield* windows.copy(id, row.id, input.shiftSeconds)
          yield* changes.record({
            organizationId,
            action: "event.duplicate",
            resourceType: "event",
            resourceId: row.id,
            newValues: { ...row, duplicatedFrom: id }
          })
          return row
        })
      )
      yield* changes.project(organizationId)
      return yield* decode(row)
    })

    const remove = Effect.fn("Events.remove")(function* (organizationId: OrganizationId, id: EventId) {
      yield* change(organizationId, id, "event.delete", () => repository.setDeleted(id, true))
    })

    const restore = Effect.fn("Events.restore")(function* (organizationId: OrganizationId, id: EventId) {
      return yield* change(organizationId, id, "event.restore", () => repository.setDeleted(id, false), {
        deleted: true
      })
    })

    /**
     * Deletes an event of the trash for good, with its windows and bands; its taps and rollups stay, and its
     * analytics keep answering by id (from the tombstone the repository leaves). The read model forgets the
     * event and the band entries it held.
     */
    const purge = Effect.fn("Events.purge")(function* (organizationId: OrganizationId, id: EventId) {
      let bandUids: ReadonlyArray<string> = []
      yield* changes.purgeRow({
        organizationId,
        resourceType: "event",
        resourceId: id,
        action: "event.purge",
        lock: repository.find(organizationId, id, { deleted: true, lock: true }),
        live: Effect.map(repository.find(organizationId, id), (row) => row !== undefined),
        purge: () =>
          Effect.gen(function* () {
            bandUids = yield* bands.uidsOfEvent(id)
            yield* repository.purge(id)
            return { bandsPurged: bandUids.length }
          })
      })
      yield* changes.projectPurgedEvent(organizationId, id, bandUids)
    })

    return { list, get, create, update, changeStatus, duplicate, remove, restore, purge } as const
  }),
  dependencies: [EventRepository.Default, WindowRepository.Default, BandRepository.Default]
}) {}
