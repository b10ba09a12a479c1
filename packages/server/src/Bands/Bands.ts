import {
  Band,
  type BandId,
  type BulkReassign,
  type EventId,
  ImportResult,
  InvalidRequest,
  MAX_IMPORT_ROWS,
  type OrganizationId,
  TagId,
  Tap,
  type UpdateBand,
  type UploadId
} from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest, pageQuery, toPage } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { EventRepository } from "../Events/EventRepository.js"
import { auditedChange } from "../Registrants/Fields.js"
import { RegistrantRepository } from "../Registrants/RegistrantRepository.js"
import { Uploads } from "../Uploads/Uploads.js"
import { storeRows } from "./BandImport.js"
import { bandCursorKey, bandPosition, isBandCursorKey } from "./BandOrder.js"
import { type BandQuery, BandRepository } from "./BandRepository.js"
import { type CheckedRows, fromCsv, fromJson } from "./ImportRows.js"

const BandRow = Schema.Struct({ ...Band.fields, tagIds: Schema.Array(TagId) })
const decode = (row: unknown) => Effect.orDie(Schema.decodeUnknown(BandRow)(row))
const TapRow = Schema.Struct({ ...Tap.fields, tappedAt: Schema.DateTimeUtcFromDate })
const decodeTap = (row: unknown) =>
  Effect.orDie(Effect.map(Schema.decodeUnknown(TapRow)(row), (tap) => new Tap(tap)))

/** An uploaded JSON import: `{ "bands": [...] }` as the request body takes it, or the array alone. */
const jsonRows = (text: string) =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: () => new InvalidRequest({ message: "the uploaded file is not valid JSON" })
  }).pipe(
    Effect.flatMap((parsed) => {
      const bands = Array.isArray(parsed) ? parsed : (parsed as { bands?: unknown } | null)?.bands
      if (!Array.isArray(bands)) {
        return Effect.fail(
          new InvalidRequest({ message: 'the uploaded JSON is not { "bands": [...] } or an array' })
        )
      }
      if (bands.length > MAX_IMPORT_ROWS) {
        return Effect.fail(
          new InvalidRequest({ message: `an import takes at most ${MAX_IMPORT_ROWS} bands` })
        )
      }
      return Effect.succeed({ bands: bands as ReadonlyArray<unknown> })
    })
  )

/**
 * A band's audit values without its registrant: a registrant field that changed is recorded as "changed",
 * never its value (issue 33; 0022 did the same to the entries written before).
 */
const auditedBand = (before: Record<string, unknown>, after: Record<string, unknown>) => {
  const { registrantEmail: _oldEmail, registrantName: _oldName, ...oldValues } = before
  const { registrantEmail: _newEmail, registrantName: _newName, ...newValues } = after
  return {
    oldValues,
    newValues: {
      ...newValues,
      ...auditedChange(before, after, ["registrantName", "registrantEmail"])
    }
  }
}

/** Invalid rows reported in an import's answer; the count covers all of them. */
const MAX_REPORTED = 1_000

/** The wristbands of an organisation's events. Every change reaches the hot path's read model after commit. */
export class Bands extends Effect.Service<Bands>()("@tapline/server/Bands", {
  effect: Effect.gen(function* () {
    const repository = yield* BandRepository
    const events = yield* EventRepository
    const changes = yield* Changes
    const uploads = yield* Uploads
    const registrants = yield* RegistrantRepository

    const find = (organizationId: OrganizationId, id: BandId, options: { readonly deleted?: boolean } = {}) =>
      Effect.flatMap(changes.found("band", id, repository.find(organizationId, id, options)), decode)

    const holdEvent = (
      organizationId: OrganizationId,
      id: EventId,
      options: { readonly exclusive?: boolean } = {}
    ) =>
      Effect.orDie(events.hold(organizationId, id, options)).pipe(
        Effect.flatMap((found) => (found ? Effect.void : changes.notFound("event", id)))
      )

    /** A change to one band with its audit entry (before and after), then the band projected. */
    const change = <E, R>(
      organizationId: OrganizationId,
      id: BandId,
      action: string,
      body: Effect.Effect<unknown, E, R>,
      options: { readonly deleted?: boolean } = {}
    ) =>
      Effect.gen(function* () {
        const after = yield* changes.transact(
          Effect.gen(function* () {
            yield* repository.lock(organizationId, id)
            const before = yield* find(organizationId, id, options)
            yield* body
            const after = yield* find(organizationId, id, { deleted: action === "band.delete" })
            yield* changes.record({
              organizationId,
              action,
              resourceType: "band",
              resourceId: id,
              ...auditedBand(Schema.encodeSync(BandRow)(before), Schema.encodeSync(BandRow)(after))
            })
            return after
          })
        )
        yield* changes.projectBands(organizationId, [after.bandUid])
        return after
      })

    /** A JSON body or CSV text; valid rows are stored, invalid ones reported by line. */
    const importBands = Effect.fn("Bands.import")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      input: string | { readonly bands: ReadonlyArray<unknown> }
    ) {
      let checked: CheckedRows
      if (typeof input === "string") {
        const parsed = fromCsv(input)
        if (!parsed.ok) return yield* new InvalidRequest({ message: parsed.message })
        checked = parsed.rows
      } else {
        checked = fromJson(input.bands)
      }
      const stored = yield* changes
        .transact(
          Effect.gen(function* () {
            yield* holdEvent(organizationId, eventId, { exclusive: true })
            const stored = yield* storeRows(organizationId, eventId, checked.valid)
            yield* changes.record({
              organizationId,
              action: "band.import",
              resourceType: "event",
              resourceId: eventId,
              newValues: {
                received: checked.received,
                created: stored.created,
                updated: stored.updated,
                invalid: checked.invalid.length
              }
            })
            return stored
          })
        )
        .pipe(
          // Only a band auto-assigned by a tap between our read and our insert conflicts: try once more.
          Effect.retry({ times: 1, while: (error) => error._tag === "Conflict" })
        )
      yield* changes.projectNewBands(organizationId, eventId, stored.fresh)
      yield* changes.projectBands(organizationId, stored.restored)
      return ImportResult.make({
        received: checked.received,
        created: stored.created,
        updated: stored.updated,
        unchanged: checked.valid.length - stored.created - stored.updated,
        invalidCount: checked.invalid.length,
        invalid: checked.invalid.slice(0, MAX_REPORTED)
      })
    })

    /**
     * An import from an uploaded file (for files beyond one request): the same rows and answer as `importBands`;
     * the upload is used up once the import is stored.
     */
    const importUpload = Effect.fn("Bands.importUpload")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      uploadId: UploadId
    ) {
      const file = yield* uploads.read(organizationId, uploadId, "band-import")
      let text: string
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(file.bytes)
      } catch {
        return yield* new InvalidRequest({ message: "the uploaded file is not UTF-8 text" })
      }
      const result = yield* importBands(
        organizationId,
        eventId,
        file.contentType === "text/csv" ? text : yield* jsonRows(text)
      )
      yield* uploads.discard(organizationId, uploadId)
      return result
    })

    /** One page in the order asked for; the cursor holds the last band's sort value and id. */
    const list = Effect.fn("Bands.list")(function* (
      organizationId: OrganizationId,
      request: PageRequest<Omit<BandQuery, "after" | "limit">>
    ) {
      const query = yield* pageQuery(request, isBandCursorKey(request.sort, request.order))
      const rows = yield* Effect.orDie(
        repository.list(organizationId, { ...query, after: bandPosition(query.after) })
      )
      const bands = yield* Effect.forEach(rows, (row) =>
        Effect.map(decode(row), (band) => ({
          band,
          key: bandCursorKey(request.sort, request.order, row.sortKey, band.id)
        }))
      )
      const page = toPage(bands, query.limit, (entry) => entry.key)
      return { items: page.items.map((entry) => entry.band), nextCursor: page.nextCursor }
    })

    const get = Effect.fn("Bands.get")(function* (organizationId: OrganizationId, id: BandId) {
      return yield* find(organizationId, id)
    })

    /**
     * Registrant fields, and the flag: `flagged: true` sets it with its reason (none if not given), `false`
     * clears both, as resolving a flag does. A change of the flag is audited as `band.flag` / `band.unflag`.
     */
    const update = Effect.fn("Bands.update")(function* (
      organizationId: OrganizationId,
      id: BandId,
      input: typeof UpdateBand.Type
    ) {
      const { flagReason, flagged, ...registrant } = input
      if (flagReason !== undefined && flagged !== true) {
        return yield* new InvalidRequest({ message: "flagReason: only with flagged: true" })
      }
      const person = patchColumns(registrant) as {
        registrantName?: string | null
        registrantEmail?: string | null
      }
      const columns: Record<string, unknown> = {}
      if (flagged !== undefined) {
        columns.flagged = flagged
        columns.flagReason = flagged ? (flagReason ?? null) : null
      }
      const action = flagged === undefined ? "band.update" : flagged ? "band.flag" : "band.unflag"
      // The band's registrant fields are the registrant's (0022): written there, created if the band had none.
      const body = Effect.gen(function* () {
        if (Object.keys(person).length > 0) {
          yield* registrants.upsert(organizationId, id, "api", {
            ...(person.registrantName === undefined ? {} : { name: person.registrantName?.trim() || null }),
            ...(person.registrantEmail === undefined ? {} : { email: person.registrantEmail })
          })
          yield* registrants.dropIfEmpty(id)
        }
        if (Object.keys(columns).length > 0) yield* repository.updateColumns(id, columns)
      })
      return yield* change(organizationId, id, action, body)
    })

    const remove = Effect.fn("Bands.remove")(function* (organizationId: OrganizationId, id: BandId) {
      yield* change(organizationId, id, "band.delete", repository.setDeleted(id, true))
    })

    const restore = Effect.fn("Bands.restore")(function* (organizationId: OrganizationId, id: BandId) {
      return yield* change(organizationId, id, "band.restore", repository.setDeleted(id, false), {
        deleted: true
      })
    })

    /**
     * Deletes a band of the trash for good; its taps and rollups stay. The audit keeps the band without its
     * registrant (personal data never enters the audit in clear).
     */
    const purge = Effect.fn("Bands.purge")(function* (organizationId: OrganizationId, id: BandId) {
      let bandUid = ""
      yield* changes.purgeRow({
        organizationId,
        resourceType: "band",
        resourceId: id,
        action: "band.purge",
        lock: Effect.zipRight(
          repository.lock(organizationId, id),
          repository.find(organizationId, id, { deleted: true })
        ),
        live: Effect.map(repository.find(organizationId, id), (row) => row !== undefined),
        purge: (before) =>
          Effect.gen(function* () {
            bandUid = String((before as { bandUid: unknown }).bandUid)
            yield* repository.purge(id)
            return null
          }),
        audited: (before) => {
          const { registrantEmail, registrantName, ...band } = before as Record<string, unknown>
          return {
            ...band,
            registrantName: registrantName == null ? null : "removed",
            registrantEmail: registrantEmail == null ? null : "removed"
          }
        }
      })
      yield* changes.projectBands(organizationId, [bandUid])
    })

    const reassign = Effect.fn("Bands.reassign")(function* (
      organizationId: OrganizationId,
      id: BandId,
      eventId: EventId
    ) {
      return yield* change(
        organizationId,
        id,
        "band.reassign",
        Effect.zipRight(holdEvent(organizationId, eventId), repository.updateColumns(id, { eventId }))
      )
    })

    /** Bands whose id the target event already holds stay where they are and are reported as conflicts. */
    const bulkReassign = Effect.fn("Bands.bulkReassign")(function* (
      organizationId: OrganizationId,
      input: typeof BulkReassign.Type
    ) {
      const result = yield* changes.transact(
        Effect.gen(function* () {
          yield* holdEvent(organizationId, input.eventId)
          const result = yield* repository.reassign(organizationId, input.bandIds, input.eventId)
          yield* changes.record({
            organizationId,
            action: "band.bulk_reassign",
            resourceType: "event",
            resourceId: input.eventId,
            newValues: { moved: result.moved, conflicts: result.conflicts }
          })
          return result
        })
      )
      yield* changes.projectBands(organizationId, result.uids)
      return { moved: result.moved.length, conflicts: result.conflicts }
    })

    const resolveFlag = Effect.fn("Bands.resolveFlag")(function* (
      organizationId: OrganizationId,
      id: BandId
    ) {
      return yield* change(organizationId, id, "band.resolve_flag", repository.clearFlag(id))
    })

    const setTags = Effect.fn("Bands.setTags")(function* (
      organizationId: OrganizationId,
      id: BandId,
      tagIds: ReadonlyArray<TagId>
    ) {
      return yield* change(
        organizationId,
        id,
        "band.tags",
        repository.setTags(organizationId, id, [...new Set(tagIds)])
      )
    })

    const activity = Effect.fn("Bands.activity")(function* (
      organizationId: OrganizationId,
      id: BandId,
      request: PageRequest
    ) {
      yield* find(organizationId, id)
      return yield* listPage(
        request,
        (query) => repository.taps(organizationId, id, query),
        decodeTap,
        (tap) => tap.id
      )
    })

    return {
      importBands,
      importUpload,
      list,
      get,
      update,
      remove,
      restore,
      purge,
      reassign,
      bulkReassign,
      resolveFlag,
      setTags,
      activity
    } as const
  }),
  dependencies: [
    BandRepository.Default,
    EventRepository.Default,
    Uploads.Default,
    RegistrantRepository.Default
  ]
}) {}
