import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { Device } from "../Taps/Device.js"

/** The window key of taps served outside any window (a primary-key column cannot be null). */
export const NO_WINDOW = "00000000-0000-0000-0000-000000000000"

/**
 * Recomputes the rollups of up to `limit` dirty (event, hour) pairs from the raw taps: their minute rollups
 * (by window, mode and kind; by device) and the band activity of the event-local days they touch. Workers on
 * several instances take disjoint hours (SKIP LOCKED). Returns how many hours were rolled up.
 */
export const rollupDirtyHours = (limit = 500) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        const claimed = yield* sql<{ eventId: string; hour: Date }>`
          delete from rollup_dirty where (event_id, hour) in (
            select event_id, hour from rollup_dirty order by hour limit ${limit} for update skip locked
          ) returning event_id, hour`
        if (claimed.length === 0) return 0
        const events = claimed.map((c) => c.eventId)
        const hours = claimed.map((c) => c.hour)
        const input = sql`unnest(${events}::uuid[], ${hours}::timestamptz[]) as c(event_id, hour)`
        yield* sql`
          delete from tap_rollups_minute r using ${input}
          where r.event_id = c.event_id and r.bucket >= c.hour and r.bucket < c.hour + interval '1 hour'`
        yield* sql`
          delete from tap_rollups_device_minute r using ${input}
          where r.event_id = c.event_id and r.bucket >= c.hour and r.bucket < c.hour + interval '1 hour'`
        // One read of the hour's taps feeds both rollups; a tap with no device yet (stored before 0016 and not
        // reached by the backfill, which rolls its hour up again) counts as unknown.
        yield* sql`
          with grouped as (
            select t.organization_id, t.event_id, date_trunc('minute', t.tapped_at) as bucket,
              coalesce(t.window_id, ${NO_WINDOW}::uuid) as window_key, coalesce(t.mode, '') as mode, t.redirect_kind,
              coalesce(t.device, ${Device.Unknown}) as device, count(*) filter (where not t.is_bot) as taps,
              count(*) filter (where t.is_bot) as bot_taps,
              count(*) filter (where t.is_duplicate and not t.is_bot) as duplicate_taps
            from ${input} join taps t on t.event_id = c.event_id
              and t.tapped_at >= c.hour and t.tapped_at < c.hour + interval '1 hour'
            group by 1, 2, 3, 4, 5, 6, 7
          ),
          minutes as (
            insert into tap_rollups_minute (organization_id, event_id, bucket, window_key, mode, redirect_kind, taps,
              bot_taps, duplicate_taps)
            select organization_id, event_id, bucket, window_key, mode, redirect_kind, sum(taps), sum(bot_taps),
              sum(duplicate_taps)
            from grouped group by 1, 2, 3, 4, 5, 6
          )
          insert into tap_rollups_device_minute (organization_id, event_id, bucket, device, taps, bot_taps)
          select organization_id, event_id, bucket, device, sum(taps), sum(bot_taps) from grouped group by 1, 2, 3, 4`
        // The event-local days those hours touch (an hour can straddle two with a half-hour offset).
        const days = sql`(
          select distinct c.event_id, e.timezone, d.day
          from ${input} join events e on e.id = c.event_id,
          lateral (values ((c.hour at time zone e.timezone)::date),
            (((c.hour + interval '59 minutes') at time zone e.timezone)::date)) as d(day)
        ) as d`
        yield* sql`delete from band_activity_daily b using ${days} where b.event_id = d.event_id and b.day = d.day`
        yield* sql`
          insert into band_activity_daily (organization_id, event_id, band_id, day, taps)
          select t.organization_id, t.event_id, t.band_id, d.day, count(*)
          from ${days} join taps t on t.event_id = d.event_id
            and t.tapped_at >= (d.day::timestamp at time zone d.timezone)
            and t.tapped_at < ((d.day + 1)::timestamp at time zone d.timezone)
          where t.band_id is not null and not t.is_bot
          group by 1, 2, 3, 4`
        yield* sql`
          insert into event_retention (event_id, cohort, day1, day3, day7, day14, day30)
          select e.event_id, count(*), count(*) filter (where first_day + 1 = any(days)),
            count(*) filter (where first_day + 3 = any(days)), count(*) filter (where first_day + 7 = any(days)),
            count(*) filter (where first_day + 14 = any(days)), count(*) filter (where first_day + 30 = any(days))
          from (select distinct event_id from unnest(${events}::uuid[]) as c(event_id)) e
          join lateral (
            select min(day) as first_day, array_agg(day) as days from band_activity_daily a
            where a.event_id = e.event_id group by a.band_id
          ) per_band on true
          group by e.event_id
          on conflict (event_id) do update set cohort = excluded.cohort, day1 = excluded.day1, day3 = excluded.day3,
            day7 = excluded.day7, day14 = excluded.day14, day30 = excluded.day30, computed_at = now()`
        return claimed.length
      })
    )
  }).pipe(Effect.withSpan("Rollups.rollupDirtyHours"))
