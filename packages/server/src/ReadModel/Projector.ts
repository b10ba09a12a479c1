import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import { Effect, Layer, Option } from "effect"
import { Metrics } from "../Telemetry/Metrics.js"
import { ReadModelStore } from "./ReadModelStore.js"
import type { BandEntry, EventSnapshot, OrgSnapshot } from "./Snapshot.js"

const BAND_PAGE = 10_000

interface OrgRow {
  readonly id: string
  readonly slug: string
  readonly websiteUrl: string | null
  readonly deleted: boolean
  readonly version: string
}

interface EventRow extends Omit<EventSnapshot, "startsAt" | "endsAt"> {
  readonly startsAt: string | null
  readonly endsAt: string | null
}

export interface ReadModelStatus {
  readonly organizations: number
  readonly upToDate: number
  readonly stale: ReadonlyArray<{ organizationId: string; postgres: number; redis: number | null }>
}

/**
 * Writes what the hot path needs into the read model. Every admin write calls it after its transaction, so
 * the change reaches every instance within the request; `rebuild` repairs a new or flushed store.
 */
export class Projector extends Effect.Service<Projector>()("@tapline/server/Projector", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* ReadModelStore

    const orgRow = (orgId: string) =>
      sql<OrgRow>`
        select o.id, o.slug, o.website_url, o.deleted_at is not null as deleted, coalesce(v.version, 0) as version
        from organizations o left join read_model_versions v on v.organization_id = o.id
        where o.id = ${orgId}`.pipe(Effect.map((rows) => rows[0]))

    const activeEvents = (orgId: string) =>
      sql<EventRow>`
        select e.id, e.schedule_mode, e.manual_window_id, e.fallback_url, e.assign_on_flag, e.latitude, e.longitude,
          (extract(epoch from coalesce(e.starts_at, min(w.starts_at))) * 1000)::bigint as starts_at,
          (extract(epoch from coalesce(e.ends_at, max(w.ends_at))) * 1000)::bigint as ends_at,
          coalesce(json_agg(json_build_object(
            'id', w.id, 'type', w.type, 'url', w.url, 'page', w.destination = 'REGISTRATION_PAGE',
            'startsAt', (extract(epoch from w.starts_at) * 1000)::bigint,
            'endsAt', (extract(epoch from w.ends_at) * 1000)::bigint
          ) order by w.starts_at) filter (where w.id is not null), '[]') as windows
        from events e left join windows w on w.event_id = e.id
        where e.organization_id = ${orgId} and e.status = 'ACTIVE' and e.deleted_at is null
        group by e.id order by e.id`

    const eventIds = (orgId: string) =>
      sql<{ id: string }>`select id from events where organization_id = ${orgId}`.pipe(
        Effect.map((rows) => rows.map((row) => row.id))
      )

    /** Entries per band_uid of the organisation, for the band_uids `condition` selects. */
    const bandEntries = (orgId: string, condition: Statement.Fragment, page: Statement.Fragment = sql``) =>
      sql<{ bandUid: string; entries: ReadonlyArray<BandEntry> }>`
        select band_uid, json_agg(json_build_object('bandId', id, 'eventId', event_id, 'flagged', flagged)
          order by event_id) as entries
        from bands where organization_id = ${orgId} and ${condition} and deleted_at is null
        group by band_uid ${page}`.pipe(
        Effect.map((rows) => new Map(rows.map((row) => [row.bandUid, row.entries])))
      )

    const bandsNamed = (orgId: string, uids: ReadonlyArray<string>) =>
      bandEntries(orgId, sql`band_uid = any(${uids}::text[])`)

    /** The next page of band_uids after `cursor`, in order, for rebuilds. */
    const bandsAfter = (orgId: string, cursor: string) =>
      bandEntries(orgId, sql`band_uid > ${cursor}`, sql`order by band_uid limit ${BAND_PAGE}`)

    /*
     * Under a per-organisation advisory lock, so two projections of one organisation cannot interleave and
     * leave an older snapshot last. The version is read before the data: a change committed meanwhile raises
     * PostgreSQL's version above the one recorded, and the status check reports it.
     */
    const locked = <A, E, R>(orgId: string, body: Effect.Effect<A, E, R>) =>
      sql.withTransaction(
        sql`select pg_advisory_xact_lock(hashtextextended(${orgId}, 0))`.pipe(Effect.zipRight(body))
      )

    const writeSnapshot = (row: OrgRow) =>
      Effect.gen(function* () {
        const [events, ids] = yield* Effect.all([activeEvents(row.id), eventIds(row.id)])
        const snapshot: OrgSnapshot = {
          id: row.id,
          slug: row.slug,
          websiteUrl: row.websiteUrl,
          version: Number(row.version),
          events: events.map((event) => ({
            ...event,
            startsAt: event.startsAt === null ? null : Number(event.startsAt),
            endsAt: event.endsAt === null ? null : Number(event.endsAt)
          }))
        }
        yield* store.writeOrganization({ snapshot, eventIds: ids })
      })

    /** A deleted (or vanished) organisation leaves the read model entirely: slug, events, bands, snapshot. */
    const remove = (orgId: string, row: OrgRow | undefined) =>
      Effect.gen(function* () {
        const current = yield* store.org(orgId)
        yield* store.removeOrganization(orgId, current?.slug ?? row?.slug ?? null, yield* eventIds(orgId))
      })

    /** Organisation fields, its ACTIVE events and their windows. */
    const organization = (orgId: string) =>
      locked(
        orgId,
        Effect.gen(function* () {
          const row = yield* orgRow(orgId)
          if (row === undefined || row.deleted) yield* remove(orgId, row)
          else yield* writeSnapshot(row)
        })
      ).pipe(Effect.zipRight(store.announce(orgId)), Effect.withSpan("Projector.organization"))

    /** The entries of some band_uids (after an import, a reassignment, a flag change or an auto-assignment). */
    const bands = (orgId: string, uids: ReadonlyArray<string>) =>
      locked(
        orgId,
        Effect.gen(function* () {
          const row = yield* orgRow(orgId)
          if (row === undefined || row.deleted) return
          const found = yield* bandsNamed(orgId, uids)
          yield* store.writeBands(orgId, new Map(uids.map((uid) => [uid, found.get(uid) ?? []])))
          yield* writeSnapshot(row)
        })
      ).pipe(Effect.zipRight(store.announce(orgId)), Effect.withSpan("Projector.bands"))

    /**
     * A purged event leaves the read model: its id no longer names the organisation, and the entries of the
     * band_uids it held are read again (without it).
     */
    const purgedEvent = (orgId: string, eventId: string, uids: ReadonlyArray<string>) =>
      locked(
        orgId,
        Effect.gen(function* () {
          yield* store.forgetEvents([eventId])
          const row = yield* orgRow(orgId)
          if (row === undefined || row.deleted) return
          const found = yield* bandsNamed(orgId, uids)
          yield* store.writeBands(orgId, new Map(uids.map((uid) => [uid, found.get(uid) ?? []])))
          yield* writeSnapshot(row)
        })
      ).pipe(Effect.zipRight(store.announce(orgId)), Effect.withSpan("Projector.purgedEvent"))

    /**
     * Bands just created in one event (an import): their entries are the new band plus whatever the same
     * band_uid has in the organisation's other events, which is usually nothing, so only those are read.
     */
    const newBands = (
      orgId: string,
      eventId: string,
      created: ReadonlyArray<{ bandId: string; bandUid: string }>
    ) =>
      locked(
        orgId,
        Effect.gen(function* () {
          const row = yield* orgRow(orgId)
          if (row === undefined || row.deleted) return
          // Usually the organisation has no bands in other events (a first import): nothing to merge.
          const [{ shared } = { shared: false }] = yield* sql<{ shared: boolean }>`
            select exists (select 1 from bands where organization_id = ${orgId} and event_id <> ${eventId}
              and deleted_at is null) as shared`
          const elsewhere = !shared
            ? new Map<string, ReadonlyArray<BandEntry>>()
            : yield* sql<{ bandUid: string; entries: ReadonlyArray<BandEntry> }>`
            select b.band_uid, json_agg(json_build_object('bandId', b.id, 'eventId', b.event_id, 'flagged', b.flagged)
              order by b.event_id) as entries
            from bands b join unnest(${created.map((band) => band.bandUid)}::text[]) as u(band_uid)
              on b.band_uid = u.band_uid
            where b.organization_id = ${orgId} and b.event_id <> ${eventId} and b.deleted_at is null
            group by b.band_uid`.pipe(Effect.map((rows) => new Map(rows.map((r) => [r.bandUid, r.entries]))))
          const entries = new Map<string, ReadonlyArray<BandEntry>>()
          for (const { bandId, bandUid } of created) {
            const own: BandEntry = { bandId, eventId, flagged: false }
            const others = elsewhere.get(bandUid)
            entries.set(
              bandUid,
              others === undefined ? [own] : [...others, own].sort((a, b) => (a.eventId < b.eventId ? -1 : 1))
            )
          }
          yield* store.writeBands(orgId, entries)
          yield* writeSnapshot(row)
        })
      ).pipe(Effect.zipRight(store.announce(orgId)), Effect.withSpan("Projector.newBands"))

    /** Everything of one organisation, removing band keys PostgreSQL no longer has. */
    const rebuildOrganization = (orgId: string) =>
      locked(
        orgId,
        Effect.gen(function* () {
          const row = yield* orgRow(orgId)
          if (row === undefined || row.deleted) return yield* remove(orgId, row)
          const stale = new Set(yield* store.bandUids(orgId))
          let cursor = ""
          for (;;) {
            const page = yield* bandsAfter(orgId, cursor)
            if (page.size === 0) break
            yield* store.writeBands(orgId, page)
            for (const uid of page.keys()) {
              stale.delete(uid)
              cursor = uid
            }
          }
          if (stale.size > 0) yield* store.writeBands(orgId, new Map([...stale].map((uid) => [uid, []])))
          yield* writeSnapshot(row)
        })
      )

    const status = Effect.gen(function* () {
      const rows = yield* sql<{ id: string; version: string }>`
        select o.id, coalesce(v.version, 0) as version from organizations o
        left join read_model_versions v on v.organization_id = o.id
        where o.deleted_at is null order by o.id`
      const projected = yield* store.versions(rows.map((row) => row.id))
      const stale = rows.flatMap((row, i) =>
        projected[i] === Number(row.version)
          ? []
          : [{ organizationId: row.id, postgres: Number(row.version), redis: projected[i] ?? null }]
      )
      return {
        organizations: rows.length,
        upToDate: rows.length - stale.length,
        stale
      } satisfies ReadModelStatus
    }).pipe(Effect.withSpan("Projector.status"))

    /** All organisations, or only those whose projected version differs from PostgreSQL's. */
    const rebuild = (options: { readonly onlyStale: boolean }) =>
      Effect.gen(function* () {
        const targets = options.onlyStale
          ? (yield* status).stale.map((s) => s.organizationId)
          : (yield* sql<{ id: string }>`select id from organizations order by id`).map((row) => row.id)
        yield* Effect.forEach(targets, rebuildOrganization, { discard: true })
        const metrics = yield* Effect.serviceOption(Metrics)
        if (Option.isSome(metrics)) metrics.value.readModelRebuilds.inc(targets.length)
        yield* store.markRebuilt
        yield* store.announce("*")
        return { organizations: targets.length }
      }).pipe(Effect.withSpan("Projector.rebuild"))

    /** At start: a full rebuild when the store was never built (or was flushed), else only what is stale. */
    const ensureFresh = Effect.gen(function* () {
      const built = yield* store.isBuilt
      const result = yield* rebuild({ onlyStale: built })
      yield* Effect.logInfo("read model ready").pipe(
        Effect.annotateLogs({ mode: built ? "stale organisations" : "full rebuild", ...result })
      )
    })

    /** Rebuilds as soon as the store turns out empty (a Redis restarted without persistence, or flushed). */
    const watch = Effect.gen(function* () {
      if (yield* store.isBuilt) return
      yield* Effect.logWarning("read model missing; rebuilding")
      yield* rebuild({ onlyStale: false })
    }).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("read model check failed", cause)),
      Effect.zipRight(Effect.sleep("2 seconds")),
      Effect.forever
    )

    return { organization, bands, newBands, purgedEvent, rebuild, status, ensureFresh, watch } as const
  })
}) {}

/** At start, bring the read model up to date; then keep watching for a store that lost it. */
export const ReadModelFresh = Layer.scopedDiscard(
  Effect.gen(function* () {
    const projector = yield* Projector
    yield* projector.ensureFresh
    yield* Effect.forkScoped(projector.watch)
  })
)
