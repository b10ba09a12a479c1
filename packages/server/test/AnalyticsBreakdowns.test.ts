import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { TapStore } from "../src/Taps/TapStore.js"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { eventWith, storeAndRollUp } from "./support/AnalyticsFixtures.js"

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const utc = (iso: string) => Date.parse(`${iso}Z`)

const points = (body: { points: ReadonlyArray<{ at: string; taps: number }> }) =>
  body.points.map((point) => [point.at, point.taps])

layer(adminHarness(), { excludeTestServices: true, timeout: 120_000 })("analytics breakdowns", (it) => {
  it.effect("the window breakdown counts each window's taps and the taps outside any window apart", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("windows@example.com"))
      const org = `/api/v1/organizations/${tenant.orgId}`
      const { eventId, tap } = yield* eventWith(tenant, { timezone: "UTC", bands: ["A", "B"] })
      const window = (type: string, from: number, to: number) =>
        call("POST", `${org}/events/${eventId}/windows`, {
          key: tenant.keys.EDITOR,
          body: {
            type,
            url: `https://example.com/${type}`,
            startsAt: new Date(from).toISOString(),
            endsAt: new Date(to).toISOString()
          }
        }).pipe(Effect.flatMap((reply) => ok(reply, 201, "create window")))
      const start = utc("2026-05-01T18:00")
      const pre = (yield* window("PRE", start, start + HOUR)).body.id as string
      const live = (yield* window("LIVE", start + HOUR, start + 3 * HOUR)).body.id as string
      yield* storeAndRollUp([
        tap("A", start + MINUTE, { windowId: pre, mode: "PRE", kind: "WINDOW" }),
        tap("A", start + HOUR + MINUTE, { windowId: live, kind: "WINDOW" }),
        tap("B", start + HOUR + 2 * MINUTE, { windowId: live, kind: "WINDOW" }),
        tap("B", start + HOUR + 3 * MINUTE, { windowId: live, kind: "WINDOW", bot: true }),
        tap("B", start + 4 * HOUR, { windowId: null, mode: null, kind: "FALLBACK" })
      ])
      const summary = yield* call("GET", `${org}/analytics/events/${eventId}/summary`, {
        key: tenant.keys.VIEWER
      })
      expect(summary.body.byWindow).toHaveLength(3)
      expect(summary.body.byWindow).toEqual(
        expect.arrayContaining([
          { windowId: live, taps: 2 },
          { windowId: pre, taps: 1 },
          { windowId: null, taps: 1 }
        ])
      )
      // The window split stays right within a range that cuts the LIVE window.
      const ranged = yield* call(
        "GET",
        `${org}/analytics/events/${eventId}/summary?from=${new Date(start + HOUR + 2 * MINUTE).toISOString()}`,
        { key: tenant.keys.VIEWER }
      )
      expect(ranged.body.byWindow).toEqual(
        expect.arrayContaining([
          { windowId: live, taps: 1 },
          { windowId: null, taps: 1 }
        ])
      )
      expect(ranged.body.byWindow).toHaveLength(2)
    }).pipe(Effect.provide(TapStore.Default))
  )

  it.effect("hours and days in Europe/Berlin are local on both sides of both daylight-saving changes", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("dst@example.com"))
      const org = `/api/v1/organizations/${tenant.orgId}`
      const { eventId, tap } = yield* eventWith(tenant, { timezone: "Europe/Berlin", bands: ["A"] })
      yield* storeAndRollUp([
        // 29 March 2026: 02:00 CET becomes 03:00 CEST.
        tap("A", utc("2026-03-28T22:59")), // 23:59 CET, 28 March
        tap("A", utc("2026-03-28T23:30")), // 00:30 CET, 29 March
        tap("A", utc("2026-03-29T00:30")), // 01:30 CET
        tap("A", utc("2026-03-29T01:30")), // 03:30 CEST
        tap("A", utc("2026-03-29T21:59")), // 23:59 CEST, 29 March
        tap("A", utc("2026-03-29T22:00")), // 00:00 CEST, 30 March
        // 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:00-03:00 happens twice.
        tap("A", utc("2026-10-24T22:30")), // 00:30 CEST, 25 October
        tap("A", utc("2026-10-25T00:30")), // 02:30 CEST
        tap("A", utc("2026-10-25T00:40")), // 02:40 CEST
        tap("A", utc("2026-10-25T01:30")), // 02:30 CET
        tap("A", utc("2026-10-25T02:30")), // 03:30 CET
        tap("A", utc("2026-10-25T22:59")), // 23:59 CET, 25 October
        tap("A", utc("2026-10-25T23:00")) // 00:00 CET, 26 October
      ])
      const series = (query: string) =>
        call("GET", `${org}/analytics/events/${eventId}/timeseries?${query}`, { key: tenant.keys.VIEWER })
      const spring = yield* series("bucket=hour&from=2026-03-28T22:00:00Z&to=2026-03-29T02:00:00Z")
      expect(spring.body.timezone).toBe("Europe/Berlin")
      expect(points(spring.body)).toEqual([
        ["2026-03-28T23:00", 1],
        ["2026-03-29T00:00", 1],
        ["2026-03-29T01:00", 1],
        ["2026-03-29T03:00", 1]
      ])
      const autumn = yield* series("bucket=hour&from=2026-10-24T22:00:00Z&to=2026-10-25T03:00:00Z")
      // The repeated hour is two points, told apart by the instant each starts at.
      expect(autumn.body.points).toEqual([
        { at: "2026-10-25T00:00", start: "2026-10-24T22:00:00.000Z", taps: 1, botTaps: 0 },
        { at: "2026-10-25T02:00", start: "2026-10-25T00:00:00.000Z", taps: 2, botTaps: 0 },
        { at: "2026-10-25T02:00", start: "2026-10-25T01:00:00.000Z", taps: 1, botTaps: 0 },
        { at: "2026-10-25T03:00", start: "2026-10-25T02:00:00.000Z", taps: 1, botTaps: 0 }
      ])
      const days = yield* series("bucket=day")
      expect(points(days.body)).toEqual([
        ["2026-03-28T00:00", 1],
        ["2026-03-29T00:00", 4],
        ["2026-03-30T00:00", 1],
        ["2026-10-25T00:00", 6],
        ["2026-10-26T00:00", 1]
      ])
      // Days start at local midnight: 23 hours long in March, 25 in October.
      expect(days.body.points.map((point: { start: string }) => point.start)).toEqual([
        "2026-03-27T23:00:00.000Z",
        "2026-03-28T23:00:00.000Z",
        "2026-03-29T22:00:00.000Z",
        "2026-10-24T22:00:00.000Z",
        "2026-10-25T23:00:00.000Z"
      ])
    }).pipe(Effect.provide(TapStore.Default))
  )

  it.effect(
    "retention on days 7, 14 and 30 counts the bands seen again exactly that many local days later",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("retention@example.com"))
        const org = `/api/v1/organizations/${tenant.orgId}`
        const { eventId, tap } = yield* eventWith(tenant, {
          timezone: "America/New_York",
          bands: ["A", "B", "C", "D", "E"]
        })
        // Every band is first seen on 1 October (New York); 23:30 local is already the next day in UTC.
        const first = utc("2026-10-02T03:30") // 23:30 EDT, 1 October
        const localDay = (day: number) => first + day * DAY
        yield* storeAndRollUp([
          ...["A", "B", "C", "D", "E"].map((uid) => tap(uid, first)),
          tap("A", localDay(7)),
          tap("B", localDay(14)),
          // 31 October 23:30 EDT is still day 30, though 1 November in UTC.
          tap("C", localDay(30)),
          // 30 October 23:30: day 29, a near miss.
          tap("D", localDay(29)),
          // 00:30 on 8 October local is day 7, though only 6 days after 2 October in UTC.
          tap("E", localDay(6) + HOUR)
        ])
        const summary = yield* call("GET", `${org}/analytics/events/${eventId}/summary`, {
          key: tenant.keys.VIEWER
        })
        expect(summary.body.retention).toEqual({ day1: 0, day3: 0, day7: 0.4, day14: 0.2, day30: 0.2 })
      }).pipe(Effect.provide(TapStore.Default))
  )

  it.effect("day, week and month buckets start at local midnight, on Mondays and on the 1st", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("buckets@example.com"))
      const org = `/api/v1/organizations/${tenant.orgId}`
      const { eventId, tap } = yield* eventWith(tenant, { timezone: "Europe/Berlin", bands: ["A"] })
      yield* storeAndRollUp([
        tap("A", utc("2026-01-04T22:59")), // Sunday 4 January, 23:59 CET
        tap("A", utc("2026-01-04T23:00")), // Monday 5 January, 00:00 CET
        tap("A", utc("2026-01-07T12:00")),
        tap("A", utc("2026-01-31T23:30")), // 1 February, 00:30 CET
        tap("A", utc("2026-02-28T22:59")), // 28 February, 23:59 CET
        tap("A", utc("2026-03-31T22:30")) // 1 April, 00:30 CEST
      ])
      const series = (bucket: string) =>
        call("GET", `${org}/analytics/events/${eventId}/timeseries?bucket=${bucket}`, {
          key: tenant.keys.VIEWER
        })
      expect(points((yield* series("day")).body)).toEqual([
        ["2026-01-04T00:00", 1],
        ["2026-01-05T00:00", 1],
        ["2026-01-07T00:00", 1],
        ["2026-02-01T00:00", 1],
        ["2026-02-28T00:00", 1],
        ["2026-04-01T00:00", 1]
      ])
      expect(points((yield* series("week")).body)).toEqual([
        ["2025-12-29T00:00", 1],
        ["2026-01-05T00:00", 2],
        ["2026-01-26T00:00", 1],
        ["2026-02-23T00:00", 1],
        ["2026-03-30T00:00", 1]
      ])
      const months = (yield* series("month")).body
      expect(months.bucket).toBe("month")
      expect(points(months)).toEqual([
        ["2026-01-01T00:00", 3],
        ["2026-02-01T00:00", 2],
        ["2026-04-01T00:00", 1]
      ])
      // Without a bucket, a range of 30 days asks for days and one of a year for months.
      const chosen = (from: string, to: string) =>
        call("GET", `${org}/analytics/events/${eventId}/timeseries?from=${from}&to=${to}`, {
          key: tenant.keys.VIEWER
        })
      expect((yield* chosen("2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z")).body.bucket).toBe("day")
      expect((yield* chosen("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")).body.bucket).toBe("month")
    }).pipe(Effect.provide(TapStore.Default))
  )

  it.effect("campaigns and organisations have time series over their live events, VIEWER reads them", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("series@example.com"))
      const org = `/api/v1/organizations/${tenant.orgId}`
      const campaign = yield* ok(
        yield* call("POST", `${org}/campaigns`, { key: tenant.keys.EDITOR, body: { name: "Tour" } }),
        201,
        "create campaign"
      )
      const campaignId = campaign.body.id as string
      const berlin = yield* eventWith(tenant, { timezone: "Europe/Berlin", bands: ["A"], campaignId })
      const munich = yield* eventWith(tenant, { timezone: "Europe/Berlin", bands: ["B"], campaignId })
      const outside = yield* eventWith(tenant, { timezone: "Europe/Berlin", bands: ["C"] })
      const trashed = yield* eventWith(tenant, { timezone: "Europe/Berlin", bands: ["D"], campaignId })
      yield* storeAndRollUp([
        berlin.tap("A", utc("2026-06-01T18:10")), // 20:10 CEST
        munich.tap("B", utc("2026-06-01T18:20")),
        munich.tap("B", utc("2026-06-01T19:20"), { bot: true }),
        outside.tap("C", utc("2026-06-01T18:30")),
        trashed.tap("D", utc("2026-06-01T18:40"))
      ])
      yield* ok(
        yield* call("DELETE", `${org}/events/${trashed.eventId}`, { key: tenant.keys.EDITOR }),
        204,
        "trash event"
      )
      const campaignSeries = yield* call(
        "GET",
        `${org}/analytics/campaigns/${campaignId}/timeseries?bucket=hour`,
        { key: tenant.keys.VIEWER }
      )
      expect(campaignSeries.status).toBe(200)
      expect(campaignSeries.body).toEqual({
        bucket: "hour",
        timezone: "Europe/Berlin",
        points: [
          { at: "2026-06-01T20:00", start: "2026-06-01T18:00:00.000Z", taps: 2, botTaps: 0 },
          { at: "2026-06-01T21:00", start: "2026-06-01T19:00:00.000Z", taps: 0, botTaps: 1 }
        ]
      })
      const orgSeries = yield* call("GET", `${org}/analytics/timeseries?bucket=day`, {
        key: tenant.keys.VIEWER
      })
      expect(orgSeries.status).toBe(200)
      expect(points(orgSeries.body)).toEqual([["2026-06-01T00:00", 3]])
      // A range picks the bucket as the event's does.
      const ranged = yield* call(
        "GET",
        `${org}/analytics/timeseries?from=2026-06-01T18:00:00Z&to=2026-06-01T20:00:00Z`,
        { key: tenant.keys.VIEWER }
      )
      expect(ranged.body.bucket).toBe("minute")
      expect(ranged.body.points.reduce((sum: number, p: { taps: number }) => sum + p.taps, 0)).toBe(3)
      // Events in several time zones are counted in UTC, and the answer says so.
      const tokyo = yield* eventWith(tenant, { timezone: "Asia/Tokyo", bands: ["E"] })
      yield* storeAndRollUp([tokyo.tap("E", utc("2026-06-01T16:00"))]) // 2 June 01:00 in Tokyo
      const mixed = yield* call("GET", `${org}/analytics/timeseries?bucket=day`, { key: tenant.keys.VIEWER })
      expect(mixed.body.timezone).toBe("UTC")
      expect(points(mixed.body)).toEqual([["2026-06-01T00:00", 4]])

      const unknown = yield* call(
        "GET",
        `${org}/analytics/campaigns/00000000-0000-7000-8000-000000000001/timeseries`,
        { key: tenant.keys.VIEWER }
      )
      expect(unknown.status).toBe(404)
      const badBucket = yield* call("GET", `${org}/analytics/timeseries?bucket=fortnight`, {
        key: tenant.keys.VIEWER
      })
      expect(badBucket.status).toBe(400)
      const other = yield* createTenant(yield* bootstrapKey("series-other@example.com"))
      const foreign = yield* call(
        "GET",
        `/api/v1/organizations/${other.orgId}/analytics/campaigns/${campaignId}/timeseries`,
        { key: other.keys.OWNER }
      )
      expect(foreign.status).toBe(404)
    }).pipe(Effect.provide(TapStore.Default))
  )

  it.effect("a range counts the bands of the event-local days it covers, not of the UTC days", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("range-days@example.com"))
      const org = `/api/v1/organizations/${tenant.orgId}`
      const { eventId, tap } = yield* eventWith(tenant, { timezone: "Europe/Berlin", bands: ["A", "B"] })
      yield* storeAndRollUp([
        tap("A", utc("2026-07-04T21:30")), // 23:30 CEST, 4 July
        tap("B", utc("2026-07-04T22:30")) // 00:30 CEST, 5 July
      ])
      const summary = (from: string, to: string) =>
        call("GET", `${org}/analytics/events/${eventId}/summary?from=${from}&to=${to}`, {
          key: tenant.keys.VIEWER
        }).pipe(Effect.map((reply) => reply.body))
      // 5 July in Berlin: B alone.
      expect(yield* summary("2026-07-04T22:00:00Z", "2026-07-05T22:00:00Z")).toMatchObject({
        totalTaps: 1,
        uniqueBands: 1
      })
      // 4 July in Berlin, up to its local midnight (the end is exclusive): A alone.
      expect(yield* summary("2026-07-03T22:00:00Z", "2026-07-04T22:00:00Z")).toMatchObject({
        totalTaps: 1,
        uniqueBands: 1
      })
    }).pipe(Effect.provide(TapStore.Default))
  )
})
