import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { stripControlCharacters } from "@tapline/domain"
import { Effect } from "effect"
import * as Outbox from "../Outbox/Outbox.js"
import { classifyDevice } from "./Device.js"
import * as OrganizationRefs from "./OrganizationRefs.js"
import type { TapRecord } from "./TapRecord.js"

export interface StoreResult {
  /** Taps newly stored; a redelivered batch stores 0. */
  readonly inserted: number
  /** Band ids created by auto-assignment, per organisation, to project into the read model. */
  readonly assigned: ReadonlyMap<string, ReadonlyArray<string>>
  /** Taps whose organisation PostgreSQL does not know either (served the default URL during an outage). */
  readonly unattributable: ReadonlyArray<TapRecord>
}

/** A band a tap's auto-assignment created. */
interface AssignedBand {
  readonly id: string
  readonly organizationId: string
  readonly eventId: string
  readonly bandUid: string
  readonly flagged: boolean
  readonly flagReason: string | null
}

/** Results of several stores as one: counts added, assigned bands gathered per organisation. */
export const mergeResults = (results: ReadonlyArray<StoreResult>): StoreResult => {
  const assigned = new Map<string, Array<string>>()
  for (const result of results) {
    for (const [orgId, uids] of result.assigned)
      assigned.set(orgId, [...(assigned.get(orgId) ?? []), ...uids])
  }
  return {
    inserted: results.reduce((n, r) => n + r.inserted, 0),
    assigned,
    unattributable: results.flatMap((r) => r.unattributable)
  }
}

const column = <A>(taps: ReadonlyArray<TapRecord>, f: (tap: TapRecord) => A) => taps.map(f)

/*
 * SQLSTATE classes 22 (data exception: a NUL in text, an invalid inet) and 23 (integrity: a reference to a
 * row that is gone) are answers about the data, the same on every retry. Anything else (a connection lost,
 * the server shutting down, a statement timeout) is about PostgreSQL and passes.
 */
export const refusal = (error: unknown): { readonly message: string; readonly sqlstate: string } | null => {
  if (typeof error !== "object" || error === null || (error as { _tag?: string })._tag !== "SqlError") {
    return null
  }
  const cause = (error as SqlError).cause as { code?: unknown; message?: unknown } | undefined
  const code = typeof cause?.code === "string" ? cause.code : ""
  if (!code.startsWith("22") && !code.startsWith("23")) return null
  return { message: typeof cause?.message === "string" ? cause.message : "refused", sqlstate: code }
}

/**
 * Stores a batch in one transaction: first the bands auto-assignment created (idempotent on event and
 * band id), then the taps (idempotent on id and time) and, from exactly the rows inserted, the bands'
 * first tap, last tap and count. A batch delivered twice stores and counts nothing the second time.
 */
export class TapStore extends Effect.Service<TapStore>()("@tapline/server/TapStore", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const createAssigned = (taps: ReadonlyArray<TapRecord>) => {
      const assigned = taps.filter((tap) => tap.assign !== null && tap.bandId === null)
      if (assigned.length === 0) return Effect.succeed([])
      return sql<AssignedBand>`
        insert into bands (organization_id, event_id, band_uid, auto_assigned, auto_assign_distance_miles,
          flagged, flag_reason)
        select distinct on (event_id, band_uid) org, event_id, band_uid, true, miles, flagged, reason
        from unnest(
          ${column(assigned, (t) => t.orgId)}::uuid[], ${column(assigned, (t) => t.assign!.eventId)}::uuid[],
          ${column(assigned, (t) => t.bandUid)}::text[], ${column(assigned, (t) => t.assign!.distanceMiles)}::float8[],
          ${column(assigned, (t) => t.assign!.flagged)}::boolean[], ${column(assigned, (t) => t.assign!.flagReason)}::text[]
        ) as a(org, event_id, band_uid, miles, flagged, reason)
        order by event_id, band_uid
        on conflict (event_id, band_uid) do nothing
        returning id, organization_id, event_id, band_uid, flagged, flag_reason`
    }

    const insertTaps = (taps: ReadonlyArray<TapRecord>) =>
      sql<{ inserted: string }>`
        with input as (
          select * from unnest(
            ${column(taps, (t) => t.id)}::uuid[], ${column(taps, (t) => t.orgId)}::uuid[],
            ${column(taps, (t) => t.eventId)}::uuid[], ${column(taps, (t) => t.bandId)}::uuid[],
            ${column(taps, (t) => t.bandUid)}::text[], ${column(taps, (t) => t.windowId)}::uuid[],
            ${column(taps, (t) => t.mode)}::text[], ${column(taps, (t) => t.kind)}::text[],
            ${column(taps, (t) => t.url)}::text[], ${column(taps, (t) => new Date(t.at))}::timestamptz[],
            ${column(taps, (t) => t.ua)}::text[], ${column(taps, (t) => t.ip)}::inet[],
            ${column(taps, (t) => t.utm?.source ?? null)}::text[], ${column(taps, (t) => t.utm?.medium ?? null)}::text[],
            ${column(taps, (t) => t.utm?.campaign ?? null)}::text[], ${column(taps, (t) => t.utm?.term ?? null)}::text[],
            ${column(taps, (t) => t.utm?.content ?? null)}::text[], ${column(taps, (t) => t.bot)}::boolean[],
            ${column(taps, (t) => t.dup)}::boolean[], ${column(taps, (t) => classifyDevice(t.ua))}::smallint[]
          ) as i(id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind, destination_url,
            tapped_at, user_agent, client_ip, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
            is_bot, is_duplicate, device)
        ),
        inserted as (
          insert into taps (id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind,
            destination_url, tapped_at, user_agent, client_ip, utm_source, utm_medium, utm_campaign, utm_term,
            utm_content, is_bot, is_duplicate, device)
          select i.id, i.organization_id, coalesce(i.event_id, b.event_id), coalesce(i.band_id, b.id), i.band_uid,
            i.window_id, i.mode,
            i.redirect_kind, i.destination_url, i.tapped_at, i.user_agent, i.client_ip, i.utm_source, i.utm_medium,
            i.utm_campaign, i.utm_term, i.utm_content, i.is_bot, i.is_duplicate, i.device
          from input i
          /*
           * A tap served without its band (Redis was down and this process had not seen the band) gets it
           * here: the band of that uid in the tap's event, or else in the organisation's ACTIVE event closest
           * in time to the tap. A tap served with its band never runs this (the filter is a one-time check).
           */
          left join lateral (
            select b.id, b.event_id from bands b join events e on e.id = b.event_id
            where i.band_id is null and b.organization_id = i.organization_id and b.band_uid = i.band_uid
              and (i.event_id is null or b.event_id = i.event_id)
            order by b.deleted_at is null desc, e.status = 'ACTIVE' desc,
              abs(extract(epoch from coalesce(e.starts_at, i.tapped_at) - i.tapped_at)), b.id
            limit 1
          ) b on true
          on conflict (id, tapped_at) do nothing
          returning id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind, tapped_at,
            is_bot, is_duplicate
        ),
        -- The hours these taps fall in get their rollups recomputed by the rollup job.
        dirty as (
          insert into rollup_dirty (event_id, hour)
          select distinct event_id, date_trunc('hour', tapped_at) from inserted where event_id is not null
          on conflict do nothing
        ),
        counted as (
          select band_id, min(tapped_at) as first_at, max(tapped_at) as last_at, count(*) as taps
          from inserted where band_id is not null and not is_bot group by band_id
        ),
        -- Rows are locked in id order: two batches in flight can then never deadlock on the same bands.
        locked as (
          select b.id from bands b join counted c on c.band_id = b.id order by b.id for update of b
        ),
        updated as (
          update bands b set
            first_tap_at = least(coalesce(b.first_tap_at, c.first_at), c.first_at),
            last_tap_at = greatest(coalesce(b.last_tap_at, c.last_at), c.last_at),
            tap_count = b.tap_count + c.taps
          from counted c where b.id = c.band_id and b.id in (select id from locked)
          returning 1
        ),
        -- tap.created for the taps inserted, in this statement and transaction (see Outbox.tapsCreated).
        ${Outbox.tapsCreated(sql, "inserted")}
        select (select count(*) from inserted) as inserted`

    /*
     * Taps served while the organisation could not be told (see TapRecord.orgRef) get it from PostgreSQL;
     * those it does not know are returned apart, never inserted with a made-up organisation.
     */
    const attribute = (taps: ReadonlyArray<TapRecord>) =>
      Effect.gen(function* () {
        const unresolved = taps.filter((tap) => tap.orgId === null)
        if (unresolved.length === 0) return { attributed: taps, unattributable: [] }
        const found = yield* OrganizationRefs.resolve([
          ...new Set(unresolved.map(OrganizationRefs.keyOf))
        ]).pipe(Effect.provideService(SqlClient.SqlClient, sql))
        const attributed: Array<TapRecord> = []
        const unattributable: Array<TapRecord> = []
        for (const tap of taps) {
          if (tap.orgId !== null) attributed.push(tap)
          else {
            const organization = found.get(OrganizationRefs.keyOf(tap))
            if (organization === undefined) unattributable.push(tap)
            else attributed.push({ ...tap, orgId: organization.id })
          }
        }
        return { attributed, unattributable }
      })

    /** Bands a tap assigned (and flagged, when it came from too far) are announced to the organisation's webhooks. */
    const announceAssigned = (created: ReadonlyArray<AssignedBand>) =>
      Effect.gen(function* () {
        const byEvent = new Map<string, Array<AssignedBand>>()
        for (const band of created) {
          const key = `${band.organizationId}/${band.eventId}`
          byEvent.set(key, [...(byEvent.get(key) ?? []), band])
        }
        for (const bands of byEvent.values()) {
          const { organizationId, eventId } = bands[0]!
          yield* Outbox.publish(organizationId, "band.assigned", {
            eventId,
            bands: bands.map((band) => ({ id: band.id, uid: band.bandUid })),
            automatic: true
          })
        }
        for (const band of created.filter((band) => band.flagged)) {
          yield* Outbox.publish(band.organizationId, "band.flagged", {
            eventId: band.eventId,
            bandId: band.id,
            bandUid: band.bandUid,
            reason: band.flagReason
          })
        }
      }).pipe(Effect.provideService(SqlClient.SqlClient, sql))

    const store = (batch: ReadonlyArray<TapRecord>) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const { attributed: taps, unattributable } = yield* attribute(batch)
            if (taps.length === 0)
              return { inserted: 0, assigned: new Map(), unattributable } satisfies StoreResult
            const created = yield* createAssigned(taps)
            const [row] = yield* insertTaps(taps)
            yield* announceAssigned(created)
            const assigned = new Map<string, Array<string>>()
            for (const band of created) {
              const list = assigned.get(band.organizationId) ?? []
              list.push(band.bandUid)
              assigned.set(band.organizationId, list)
            }
            return { inserted: Number(row?.inserted ?? 0), assigned, unattributable } satisfies StoreResult
          })
        )
        .pipe(Effect.withSpan("TapStore.store", { attributes: { "tapline.batch_size": batch.length } }))

    /** Control characters would make the error text itself unstorable. */
    const printable = stripControlCharacters

    /** Keeps a tap PostgreSQL refused, with the reason; a tap dead-lettered twice keeps its first reason. */
    const deadLetter = (
      tap: TapRecord,
      error: { readonly message: string; readonly sqlstate: string | null }
    ) =>
      sql`
        insert into tap_dead_letters (tap_id, organization_id, payload, error, sqlstate)
        values (${printable(String(tap.id))}, ${tap.orgId === null ? null : printable(String(tap.orgId))},
          ${JSON.stringify(tap)},
          ${printable(error.message).slice(0, 2000)}, ${error.sqlstate})
        on conflict (tap_id) do nothing`.pipe(Effect.asVoid, Effect.withSpan("TapStore.deadLetter"))

    const deadLetterCount = sql<{ n: string }>`select count(*) as n from tap_dead_letters`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0))
    )

    /*
     * Dead letters an operator redrives once the cause is fixed (the organisation created, a fix deployed):
     * each stored on its own; stored ones leave the table, the others stay with the new reason.
     */
    const redrive = (limit: number) =>
      Effect.gen(function* () {
        const rows = yield* sql<{ tapId: string; payload: string }>`
          select tap_id, payload from tap_dead_letters order by dead_lettered_at, tap_id limit ${limit}`
        const stored: Array<StoreResult> = []
        for (const row of rows) {
          const tap = JSON.parse(row.payload) as TapRecord
          const outcome = yield* store([tap]).pipe(
            Effect.map((result) =>
              result.unattributable.length > 0
                ? { error: `unknown organisation (${tap.orgRef ?? "no reference"})`, sqlstate: null }
                : result
            ),
            Effect.catchIf(
              (error) => refusal(error) !== null,
              (error) =>
                Effect.succeed({ error: refusal(error)!.message, sqlstate: refusal(error)!.sqlstate })
            )
          )
          if ("error" in outcome) {
            yield* sql`
              update tap_dead_letters set error = ${printable(outcome.error).slice(0, 2000)},
                sqlstate = ${outcome.sqlstate}
              where tap_id = ${row.tapId}`
            continue
          }
          yield* sql`delete from tap_dead_letters where tap_id = ${row.tapId}`
          stored.push(outcome)
        }
        const { assigned } = mergeResults(stored)
        return {
          tried: rows.length,
          stored: stored.length,
          stillRefused: rows.length - stored.length,
          assigned
        }
      }).pipe(Effect.withSpan("TapStore.redrive"))

    /**
     * Oldest first; `after` is the last of the previous page. Times are cut to milliseconds, as the cursor
     * carries them: a microsecond left in the column would hand the last row of a page out again.
     */
    const deadLetters = (limit: number, after?: { readonly at: Date; readonly id: string }) => {
      const at = sql`date_trunc('milliseconds', dead_lettered_at)`
      return sql<{
        tapId: string
        organizationId: string | null
        error: string
        sqlstate: string | null
        deadLetteredAt: Date
        payload: string
      }>`
        select tap_id, organization_id, error, sqlstate, payload, ${at} as dead_lettered_at from tap_dead_letters
        ${after === undefined ? sql`` : sql`where (${at}, tap_id) > (${after.at}, ${after.id})`}
        order by ${at}, tap_id limit ${limit}`
    }

    return { store, deadLetter, deadLetterCount, deadLetters, redrive } as const
  })
}) {}
