import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import type { Bucket, DeviceBreakdown, Summary } from "@tapline/domain"
import { DateTime, Effect, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"
import { type Device, type DeviceName, deviceName } from "../Taps/Device.js"
import { NO_WINDOW } from "./Rollups.js"

export interface Range {
  readonly from?: DateTime.Utc | undefined
  readonly to?: DateTime.Utc | undefined
}

/** Without an explicit bucket, the span of the range picks one that keeps the series a readable length. */
export const bucketFor = (range: Range, fallbackSpanMs: number): Bucket => {
  const span =
    range.from !== undefined && range.to !== undefined
      ? range.to.epochMillis - range.from.epochMillis
      : fallbackSpanMs
  const hour = 3_600_000
  if (span <= 6 * hour) return "minute"
  if (span <= 72 * hour) return "hour"
  if (span <= 90 * 24 * hour) return "day"
  return "month"
}

/** Sums and counts of bigint columns, as PostgreSQL returns them: text (a `sum` over no rows is null). */
const Count = Schema.String

const Group = Schema.Struct({
  mode: Schema.String,
  redirectKind: Schema.String,
  windowKey: Schema.String,
  taps: Count,
  bots: Count,
  dups: Count
})
const Peak = Schema.Struct({
  bucket: Schema.NullOr(Schema.DateFromSelf),
  taps: Schema.NullOr(Count),
  minutes: Count
})
const BandCounts = Schema.Struct({ uniqueBands: Count, repeatBands: Count })
const Retention = Schema.Struct({
  cohort: Schema.NullOr(Count),
  day1: Schema.NullOr(Count),
  day3: Schema.NullOr(Count),
  day7: Schema.NullOr(Count),
  day14: Schema.NullOr(Count),
  day30: Schema.NullOr(Count)
})
const TopBand = Schema.Struct({ bandId: Schema.String, bandUid: Schema.String, taps: Count })
const SeriesPoint = Schema.Struct({ start: Schema.DateFromSelf, at: Schema.String, taps: Count, bots: Count })
/** `device` is a smallint: a number. */
const DeviceTaps = Schema.Struct({ device: Schema.Number, taps: Count })

/**
 * Analytics read from the rollups (minute rollups, daily band activity) and the bands' own counters, never
 * from the raw taps, so they stay fast on events with tens of millions of taps.
 */
export class AnalyticsRepository extends Effect.Service<AnalyticsRepository>()(
  "@tapline/server/AnalyticsRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      /** The rows of one rollup query, decoded (the event ids are its parameter). */
      const rowsOf = <A, I>(
        Result: Schema.Schema<A, I>,
        ids: ReadonlyArray<string>,
        statement: (ids: Array<string>) => Statement.Statement<object>
      ) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: Schema.mutable(Schema.Array(Schema.String)),
            Result,
            execute: statement
          })([...ids])
        )

      const within = (column: string, range: Range): Statement.Fragment => sql`
      ${range.from === undefined ? sql`` : sql`and ${sql(column)} >= ${DateTime.toDate(range.from)}`}
      ${range.to === undefined ? sql`` : sql`and ${sql(column)} < ${DateTime.toDate(range.to)}`}`

      /**
       * `purged`: the events' bands are gone with them (a purged event), so their counts come from the daily
       * band activity, which outlives them, as they do for a date range.
       */
      const summary = (
        eventIds: ReadonlyArray<string>,
        estimatedAttendees: number | null,
        range: Range,
        options: { readonly purged?: boolean } = {}
      ) =>
        Effect.gen(function* () {
          const ids = [...eventIds]
          const purged = options.purged === true
          const [groups, peak, bands, retention, top] = yield* Effect.all(
            [
              rowsOf(
                Group,
                ids,
                (ids) => sql`
              select mode, redirect_kind, window_key, sum(taps) as taps, sum(bot_taps) as bots, sum(duplicate_taps) as dups
              from tap_rollups_minute where event_id = any(${ids}::uuid[]) ${within("bucket", range)}
              group by 1, 2, 3`
              ),
              rowsOf(
                Peak,
                ids,
                (ids) => sql`
              with per_minute as (
                select bucket, sum(taps) as taps from tap_rollups_minute
                where event_id = any(${ids}::uuid[]) ${within("bucket", range)} group by bucket having sum(taps) > 0
              )
              select (select bucket from per_minute order by taps desc, bucket limit 1) as bucket,
                (select max(taps) from per_minute) as taps, (select count(*) from per_minute) as minutes`
              ),
              // Band activity is kept by event-local day: a range counts the bands of the local days it touches.
              range.from === undefined && range.to === undefined && !purged
                ? rowsOf(
                    BandCounts,
                    ids,
                    (ids) => sql`
                  select count(*) filter (where tap_count > 0) as unique_bands, count(*) filter (where tap_count > 1) as repeat_bands
                  from bands where event_id = any(${ids}::uuid[]) and deleted_at is null`
                  )
                : rowsOf(
                    BandCounts,
                    ids,
                    (ids) => sql`
                  select count(*) as unique_bands, count(*) filter (where taps > 1) as repeat_bands from (
                    select a.band_id, sum(a.taps) as taps from band_activity_daily a
                    join (select id, timezone from events union all select id, timezone from purged_events) e
                      on e.id = a.event_id
                    where a.event_id = any(${ids}::uuid[])
                      ${range.from === undefined ? sql`` : sql`and a.day >= (${DateTime.toDate(range.from)}::timestamptz at time zone e.timezone)::date`}
                      ${range.to === undefined ? sql`` : sql`and a.day <= ((${DateTime.toDate(range.to)}::timestamptz - interval '1 microsecond') at time zone e.timezone)::date`}
                    group by a.band_id) per_band`
                  ),
              rowsOf(
                Retention,
                ids,
                (ids) => sql`
              select sum(cohort) as cohort, sum(day1) as day1, sum(day3) as day3, sum(day7) as day7,
                sum(day14) as day14, sum(day30) as day30
              from event_retention where event_id = any(${ids}::uuid[])`
              ),
              purged
                ? // The band id a tap recorded names the band; raw taps past their retention leave it "".
                  rowsOf(
                    TopBand,
                    ids,
                    (ids) => sql`
                  select a.band_id,
                    coalesce((select t.band_uid from taps t where t.band_id = a.band_id limit 1), '') as band_uid,
                    a.taps
                  from (select band_id, sum(taps) as taps from band_activity_daily
                    where event_id = any(${ids}::uuid[]) group by band_id having sum(taps) > 0) a
                  order by a.taps desc, a.band_id limit 10`
                  )
                : rowsOf(
                    TopBand,
                    ids,
                    (ids) => sql`
                  select id as band_id, band_uid, tap_count as taps from bands
                  where event_id = any(${ids}::uuid[]) and deleted_at is null and tap_count > 0
                  order by tap_count desc, band_uid limit 10`
                  )
            ],
            { concurrency: 5 }
          )
          const byMode: Record<string, number> = {}
          const byKind: Record<string, number> = {}
          const byWindow = new Map<string | null, number>()
          let totalTaps = 0
          let botTaps = 0
          let duplicateTaps = 0
          for (const group of groups) {
            const taps = Number(group.taps)
            totalTaps += taps
            botTaps += Number(group.bots)
            duplicateTaps += Number(group.dups)
            if (taps === 0) continue
            const mode = group.mode === "" ? "NONE" : group.mode
            byMode[mode] = (byMode[mode] ?? 0) + taps
            byKind[group.redirectKind] = (byKind[group.redirectKind] ?? 0) + taps
            const window = group.windowKey === NO_WINDOW ? null : group.windowKey
            byWindow.set(window, (byWindow.get(window) ?? 0) + taps)
          }
          const uniqueBands = Number(bands[0]?.uniqueBands ?? 0)
          const minutes = Number(peak[0]?.minutes ?? 0)
          const kept = retention[0]
          const cohort = Number(kept?.cohort ?? 0)
          const rate = (count: string | null | undefined) => (cohort === 0 ? 0 : Number(count ?? 0) / cohort)
          return {
            totalTaps,
            botTaps,
            duplicateTaps,
            uniqueBands,
            repeatBands: Number(bands[0]?.repeatBands ?? 0),
            engagement:
              estimatedAttendees === null || estimatedAttendees === 0
                ? null
                : uniqueBands / estimatedAttendees,
            averageTapsPerBand: uniqueBands === 0 ? 0 : totalTaps / uniqueBands,
            tapsPerMinute: minutes === 0 ? 0 : totalTaps / minutes,
            peakMinute:
              peak[0]?.bucket === null || peak[0]?.bucket === undefined
                ? null
                : { at: DateTime.unsafeFromDate(peak[0].bucket), taps: Number(peak[0].taps) },
            byMode,
            byKind,
            byWindow: [...byWindow].map(([windowId, taps]) => ({ windowId, taps })) as never,
            retention: {
              day1: rate(kept?.day1),
              day3: rate(kept?.day3),
              day7: rate(kept?.day7),
              day14: rate(kept?.day14),
              day30: rate(kept?.day30)
            },
            topBands: top.map((band) => ({
              bandId: band.bandId,
              bandUid: band.bandUid,
              taps: Number(band.taps)
            })) as never
          } satisfies Summary
        }).pipe(Effect.withSpan("Analytics.summary"))

      /**
       * Buckets are truncated in the time zone but kept as instants (`date_trunc` with a zone), so the hour
       * that a daylight-saving change repeats stays two buckets with the same local label.
       */
      const timeSeries = (eventIds: ReadonlyArray<string>, timezone: string, bucket: Bucket, range: Range) =>
        rowsOf(
          SeriesPoint,
          eventIds,
          (ids) => sql`
        select start, to_char(start at time zone ${timezone}, 'YYYY-MM-DD"T"HH24:MI') as at, taps, bots from (
          select date_trunc(${bucket}, bucket, ${timezone}) as start, sum(taps) as taps, sum(bot_taps) as bots
          from tap_rollups_minute where event_id = any(${ids}::uuid[]) ${within("bucket", range)}
          group by 1
        ) s order by start`
        ).pipe(
          Effect.map((rows) =>
            rows.map((row) => ({
              at: row.at,
              start: DateTime.unsafeFromDate(row.start),
              taps: Number(row.taps),
              botTaps: Number(row.bots)
            }))
          ),
          Effect.withSpan("Analytics.timeSeries")
        )

      /** Taps by people (bots apart) per device; `unknown` is explained in Taps/Device.ts. */
      const devices = (eventIds: ReadonlyArray<string>, range: Range) =>
        rowsOf(
          DeviceTaps,
          eventIds,
          (ids) => sql`
        select device, sum(taps) as taps from tap_rollups_device_minute
        where event_id = any(${ids}::uuid[]) ${within("bucket", range)}
        group by device`
        ).pipe(
          Effect.map((rows) => {
            const breakdown: Record<DeviceName, number> = { ios: 0, android: 0, other: 0, unknown: 0 }
            for (const row of rows) breakdown[deviceName(row.device as Device)] += Number(row.taps)
            return breakdown satisfies DeviceBreakdown
          }),
          Effect.withSpan("Analytics.devices")
        )

      return { summary, timeSeries, devices } as const
    })
  }
) {}
