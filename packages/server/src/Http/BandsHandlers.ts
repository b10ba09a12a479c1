import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import {
  Band,
  type BandId,
  type EventId,
  ImportResult,
  InvalidRequest,
  NotFound,
  type OrganizationId,
  TagId,
  Tap,
  TaplineApi
} from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { Audit } from "../Audit/Audit.js"
import { requireRole } from "../Auth/Authorization.js"
import { storeRows } from "../Bands/BandImport.js"
import { fromCsv, fromJson } from "../Bands/ImportRows.js"

const BandRow = Schema.Struct({ ...Band.fields, tagIds: Schema.Array(TagId) })
const decode = Schema.decodeUnknown(BandRow)

const TapRow = Schema.Struct({
  ...Tap.fields,
  tappedAt: Schema.DateTimeUtcFromDate
})
const decodeTap = Schema.decodeUnknown(TapRow)

const MAX_REPORTED = 1_000

export const BandsHandlers = HttpApiBuilder.group(TaplineApi, "bands", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes
    const audit = yield* Audit

    const view = sql`select b.*, array(select tag_id from band_tags t where t.band_id = b.id order by tag_id) as tag_ids
      from bands b`

    const load = (organizationId: OrganizationId, id: BandId, deleted = false) =>
      sql`${view} where b.id = ${id} and b.organization_id = ${organizationId}
        and b.deleted_at is ${deleted ? sql`not null` : sql`null`}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined ? new NotFound({ resource: "band", id }) : Effect.orDie(decode(rows[0]))
        )
      )

    /** An event of the organisation, not in the trash, locked against deletion (or, `exclusive`, any change). */
    const liveEvent = (organizationId: OrganizationId, id: EventId, exclusive = false) =>
      sql`select id from events where id = ${id} and organization_id = ${organizationId} and deleted_at is null
        ${exclusive ? sql`for update` : sql`for share`}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) => (rows.length === 0 ? new NotFound({ resource: "event", id }) : Effect.void))
      )

    /** Runs a change to one band with its audit entry, then projects the band's id into the read model. */
    const changeBand = <E, R>(
      organizationId: OrganizationId,
      id: BandId,
      action: string,
      body: (before: typeof BandRow.Type) => Effect.Effect<void, E, R>,
      options: { deleted?: boolean } = {}
    ) =>
      Effect.gen(function* () {
        const after = yield* changes.transact(
          Effect.gen(function* () {
            yield* sql`select 1 from bands where id = ${id} and organization_id = ${organizationId} for update`
            const before = yield* load(organizationId, id, options.deleted)
            yield* body(before)
            const after = yield* load(organizationId, id, action === "band.delete")
            yield* audit.record({
              organizationId,
              action,
              resourceType: "band",
              resourceId: id,
              oldValues: Schema.encodeSync(BandRow)(before),
              newValues: Schema.encodeSync(BandRow)(after)
            })
            return after
          })
        )
        yield* changes.projectBands(organizationId, [after.bandUid])
        return after
      })

    return handlers
      .handle("import", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          let checked: ReturnType<typeof fromJson>
          if (typeof payload === "string") {
            const parsed = fromCsv(payload)
            if (!parsed.ok) return yield* new InvalidRequest({ message: parsed.message })
            checked = parsed.rows
          } else {
            checked = fromJson(payload.bands)
          }
          const stored = yield* changes
            .transact(
              Effect.gen(function* () {
                yield* liveEvent(path.organizationId, path.eventId, true)
                const stored = yield* storeRows(path.organizationId, path.eventId, checked.valid)
                yield* audit.record({
                  organizationId: path.organizationId,
                  action: "band.import",
                  resourceType: "event",
                  resourceId: path.eventId,
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
          yield* changes.projectNewBands(path.organizationId, path.eventId, stored.fresh)
          yield* changes.projectBands(path.organizationId, stored.restored)
          return ImportResult.make({
            received: checked.received,
            created: stored.created,
            updated: stored.updated,
            unchanged: checked.valid.length - stored.created - stored.updated,
            invalidCount: checked.invalid.length,
            invalid: checked.invalid.slice(0, MAX_REPORTED)
          })
        })
      )
      .handle("list", ({ path, urlParams: p }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const after = yield* decodeCursor(p.cursor)
          const like = p.q === undefined ? null : p.q.replace(/[\\%_]/g, "\\$&")
          const rows = yield* sql`${view}
            where b.organization_id = ${path.organizationId}
              and b.deleted_at is ${p.deleted ? sql`not null` : sql`null`}
              ${p.eventId === undefined ? sql`` : sql`and b.event_id = ${p.eventId}`}
              ${p.flagged === undefined ? sql`` : sql`and b.flagged = ${p.flagged}`}
              ${p.autoAssigned === undefined ? sql`` : sql`and b.auto_assigned = ${p.autoAssigned}`}
              ${p.tagId === undefined ? sql`` : sql`and exists (select 1 from band_tags t where t.band_id = b.id and t.tag_id = ${p.tagId})`}
              ${p.activity === undefined ? sql`` : p.activity === "tapped" ? sql`and b.tap_count > 0` : sql`and b.tap_count = 0`}
              ${like === null ? sql`` : sql`and (b.band_uid like ${`${like}%`} or b.registrant_name ilike ${`%${like}%`} or b.registrant_email ilike ${`%${like}%`})`}
              ${after === null ? sql`` : sql`and b.id > ${after}`}
            order by b.id limit ${p.limit + 1}`.pipe(Effect.orDie)
          const items = yield* Effect.orDie(Effect.forEach(rows, (row) => decode(row)))
          return toPage(items, p.limit, (band) => band.id)
        })
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          return yield* load(path.organizationId, path.bandId)
        })
      )
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const columns = patchColumns(payload)
          return yield* changeBand(path.organizationId, path.bandId, "band.update", () =>
            Object.keys(columns).length === 0
              ? Effect.void
              : sql`update bands set ${sql.update(columns)}, updated_at = now() where id = ${path.bandId}`
          )
        })
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          yield* changeBand(
            path.organizationId,
            path.bandId,
            "band.delete",
            () => sql`update bands set deleted_at = now(), updated_at = now() where id = ${path.bandId}`
          )
        })
      )
      .handle("restore", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          return yield* changeBand(
            path.organizationId,
            path.bandId,
            "band.restore",
            () => sql`update bands set deleted_at = null, updated_at = now() where id = ${path.bandId}`,
            { deleted: true }
          )
        })
      )
      .handle("reassign", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          return yield* changeBand(path.organizationId, path.bandId, "band.reassign", () =>
            Effect.zipRight(
              liveEvent(path.organizationId, payload.eventId),
              sql`update bands set event_id = ${payload.eventId}, updated_at = now() where id = ${path.bandId}`
            )
          )
        })
      )
      .handle("bulkReassign", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const result = yield* changes.transact(
            Effect.gen(function* () {
              yield* liveEvent(path.organizationId, payload.eventId)
              const found = yield* sql<{ id: BandId; bandUid: string }>`
                select id, band_uid from bands where id = any(${payload.bandIds}::uuid[])
                  and organization_id = ${path.organizationId} and deleted_at is null
                order by id for update`
              const moved = yield* sql<{ id: BandId; bandUid: string }>`
                update bands b set event_id = ${payload.eventId}, updated_at = now()
                where b.id = any(${found.map((band) => band.id)}::uuid[]) and b.event_id <> ${payload.eventId}
                  and not exists (select 1 from bands o where o.event_id = ${payload.eventId} and o.band_uid = b.band_uid)
                returning b.id, b.band_uid`
              const inTarget = yield* sql<{ id: BandId }>`
                select id from bands where id = any(${found.map((band) => band.id)}::uuid[]) and event_id = ${payload.eventId}`
              const settled = new Set([...moved, ...inTarget].map((band) => band.id))
              const conflicts = found.filter((band) => !settled.has(band.id)).map((band) => band.id)
              yield* audit.record({
                organizationId: path.organizationId,
                action: "band.bulk_reassign",
                resourceType: "event",
                resourceId: payload.eventId,
                newValues: { moved: moved.map((band) => band.id), conflicts }
              })
              return { moved: moved.length, conflicts, uids: found.map((band) => band.bandUid) }
            })
          )
          yield* changes.projectBands(path.organizationId, result.uids)
          return { moved: result.moved, conflicts: result.conflicts }
        })
      )
      .handle("resolveFlag", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          return yield* changeBand(
            path.organizationId,
            path.bandId,
            "band.resolve_flag",
            () =>
              sql`update bands set flagged = false, flag_reason = null, updated_at = now() where id = ${path.bandId}`
          )
        })
      )
      .handle("setTags", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "EDITOR")
          const tagIds = [...new Set(payload.tagIds)]
          return yield* changeBand(path.organizationId, path.bandId, "band.tags", () =>
            Effect.gen(function* () {
              yield* sql`delete from band_tags where band_id = ${path.bandId}`
              if (tagIds.length === 0) return
              yield* sql`insert into band_tags (band_id, tag_id, organization_id)
                select ${path.bandId}, id, ${path.organizationId} from unnest(${tagIds}::uuid[]) as t(id)`
            })
          )
        })
      )
      .handle("activity", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          yield* load(path.organizationId, path.bandId)
          const after = yield* decodeCursor(urlParams.cursor)
          const rows = yield* sql<Record<string, unknown>>`
            select id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind, destination_url,
              tapped_at, user_agent, host(client_ip) as client_ip, is_bot, is_duplicate,
              json_strip_nulls(json_build_object('source', utm_source, 'medium', utm_medium, 'campaign', utm_campaign,
                'term', utm_term, 'content', utm_content)) as utm
            from taps where band_id = ${path.bandId} and organization_id = ${path.organizationId}
              ${after === null ? sql`` : sql`and id < ${after}`}
            order by id desc limit ${urlParams.limit + 1}`.pipe(Effect.orDie)
          const items = yield* Effect.orDie(
            Effect.forEach(rows, (row) => Effect.map(decodeTap(row), (tap) => new Tap(tap)))
          )
          return toPage(items, urlParams.limit, (tap) => tap.id)
        })
      )
  })
)
