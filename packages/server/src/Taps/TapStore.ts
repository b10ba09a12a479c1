import * as SqlClient from "@effect/sql/SqlClient"
import { stripControlCharacters } from "@tapline/domain"
import { Effect } from "effect"
import type { TapRecord } from "./TapRecord.js"

export interface StoreResult {
  /** Taps newly stored; a redelivered batch stores 0. */
  readonly inserted: number
  /** Band ids created by auto-assignment, per organisation, to project into the read model. */
  readonly assigned: ReadonlyMap<string, ReadonlyArray<string>>
}

const column = <A>(taps: ReadonlyArray<TapRecord>, f: (tap: TapRecord) => A) => taps.map(f)

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
      return sql<{ organizationId: string; bandUid: string }>`
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
        returning organization_id, band_uid`
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
            ${column(taps, (t) => t.dup)}::boolean[]
          ) as i(id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind, destination_url,
            tapped_at, user_agent, client_ip, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
            is_bot, is_duplicate)
        ),
        inserted as (
          insert into taps (id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind,
            destination_url, tapped_at, user_agent, client_ip, utm_source, utm_medium, utm_campaign, utm_term,
            utm_content, is_bot, is_duplicate)
          select i.id, i.organization_id, i.event_id, coalesce(i.band_id, b.id), i.band_uid, i.window_id, i.mode,
            i.redirect_kind, i.destination_url, i.tapped_at, i.user_agent, i.client_ip, i.utm_source, i.utm_medium,
            i.utm_campaign, i.utm_term, i.utm_content, i.is_bot, i.is_duplicate
          from input i
          left join bands b on i.band_id is null and b.event_id = i.event_id and b.band_uid = i.band_uid
          on conflict (id, tapped_at) do nothing
          returning event_id, band_id, tapped_at, is_bot
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
        )
        select (select count(*) from inserted) as inserted`

    const store = (taps: ReadonlyArray<TapRecord>) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            if (taps.length === 0) return { inserted: 0, assigned: new Map() } satisfies StoreResult
            const created = yield* createAssigned(taps)
            const [row] = yield* insertTaps(taps)
            const assigned = new Map<string, Array<string>>()
            for (const band of created) {
              const list = assigned.get(band.organizationId) ?? []
              list.push(band.bandUid)
              assigned.set(band.organizationId, list)
            }
            return { inserted: Number(row?.inserted ?? 0), assigned } satisfies StoreResult
          })
        )
        .pipe(Effect.withSpan("TapStore.store", { attributes: { "tapline.batch_size": taps.length } }))

    /** Control characters would make the error text itself unstorable. */
    const printable = stripControlCharacters

    /** Keeps a tap PostgreSQL refused, with the reason; a tap dead-lettered twice keeps its first reason. */
    const deadLetter = (
      tap: TapRecord,
      error: { readonly message: string; readonly sqlstate: string | null }
    ) =>
      sql`
        insert into tap_dead_letters (tap_id, organization_id, payload, error, sqlstate)
        values (${printable(String(tap.id))}, ${printable(String(tap.orgId))}, ${JSON.stringify(tap)},
          ${printable(error.message).slice(0, 2000)}, ${error.sqlstate})
        on conflict (tap_id) do nothing`.pipe(Effect.asVoid, Effect.withSpan("TapStore.deadLetter"))

    const deadLetterCount = sql<{ n: string }>`select count(*) as n from tap_dead_letters`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0))
    )

    return { store, deadLetter, deadLetterCount } as const
  })
}) {}
