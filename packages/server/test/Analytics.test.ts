import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Jobs } from "../src/Jobs/Jobs.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"
import { TapStore } from "../src/Taps/TapStore.js"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

layer(adminHarness(), { excludeTestServices: true, timeout: 120_000 })("analytics", (it) => {
  it.effect(
    "summary, time series, retention and CSV export follow the taps the writer stored, through the rollup job",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const jobs = yield* Jobs
        const store = yield* TapStore
        const tenant = yield* createTenant(yield* bootstrapKey("analytics@example.com"))
        const key = tenant.keys.VIEWER
        const editor = tenant.keys.EDITOR
        const org = `/api/v1/organizations/${tenant.orgId}`
        // The show: 2026-03-01 20:00-22:00 in Lisbon (UTC+0 in March), 4 expected attendees.
        const start = Date.UTC(2026, 2, 1, 20, 0)
        const event = yield* ok(
          yield* call("POST", `${org}/events`, {
            key: editor,
            body: {
              name: "Lisbon",
              timezone: "Europe/Lisbon",
              estimatedAttendees: 4,
              startsAt: new Date(start).toISOString(),
              endsAt: new Date(start + 2 * HOUR).toISOString()
            }
          }),
          201
        )
        const eventId = event.body.id as string
        const window = yield* ok(
          yield* call("POST", `${org}/events/${eventId}/windows`, {
            key: editor,
            body: {
              type: "LIVE",
              url: "https://example.com/live",
              startsAt: new Date(start).toISOString(),
              endsAt: new Date(start + 2 * HOUR).toISOString()
            }
          }),
          201
        )
        yield* call("POST", `${org}/events/${eventId}/bands/import`, {
          key: editor,
          body: { bands: ["A", "B", "C"].map((bandUid) => ({ bandUid })) }
        })
        const bands = yield* sql<{
          id: string
          bandUid: string
        }>`select id, band_uid from bands where event_id = ${eventId}`
        const idOf = (uid: string) => bands.find((b) => b.bandUid === uid)!.id
        let n = 0
        const tap = (uid: string, at: number, extra: Partial<TapRecord> = {}): TapRecord => ({
          id: `01a2${(++n).toString(16).padStart(4, "0")}-0000-7000-8000-${n.toString(16).padStart(12, "0")}`,
          orgId: tenant.orgId,
          eventId,
          bandId: idOf(uid),
          bandUid: uid,
          windowId: window.body.id,
          mode: "LIVE",
          kind: "WINDOW",
          url: "https://example.com/live",
          at,
          ua: "Mozilla/5.0",
          ip: null,
          utm: null,
          bot: false,
          dup: false,
          assign: null,
          ...extra
        })
        const taps = [
          tap("A", start + 1 * MINUTE),
          tap("A", start + 1 * MINUTE + 5_000, { dup: true }),
          tap("A", start + 1 * MINUTE + 9_000),
          tap("B", start + 1 * MINUTE + 30_000),
          tap("B", start + 70 * MINUTE),
          tap("C", start + 70 * MINUTE, { bot: true }),
          // A comes back the next day: day-1 retention of one band in two.
          tap("A", start + DAY + 10 * MINUTE, { windowId: null, mode: null, kind: "FALLBACK" })
        ]
        yield* store.store(taps)
        // Storing the same batch again (a redelivery) must not count twice.
        yield* store.store(taps)

        const summary = () => call("GET", `${org}/analytics/events/${eventId}/summary`, { key })
        yield* jobs.enqueue("analytics.rollup", {})
        let result = yield* summary()
        const deadline = Date.now() + 15_000
        while (result.body.totalTaps !== 6 && Date.now() < deadline) {
          yield* Effect.sleep("200 millis")
          result = yield* summary()
        }
        expect(result.body).toMatchObject({
          totalTaps: 6,
          botTaps: 1,
          duplicateTaps: 1,
          uniqueBands: 2,
          repeatBands: 2,
          engagement: 0.5,
          averageTapsPerBand: 3,
          byMode: { LIVE: 5, NONE: 1 },
          byKind: { WINDOW: 5, FALLBACK: 1 },
          peakMinute: { at: new Date(start + MINUTE).toISOString(), taps: 4 },
          retention: { day1: 0.5, day3: 0 }
        })
        expect(result.body.tapsPerMinute).toBe(2)
        expect(result.body.topBands.map((b: { bandUid: string }) => b.bandUid)).toEqual(["A", "B"])

        const hourly = yield* call("GET", `${org}/analytics/events/${eventId}/timeseries?bucket=hour`, {
          key
        })
        expect(hourly.body.timezone).toBe("Europe/Lisbon")
        expect(hourly.body.points).toEqual([
          { at: "2026-03-01T20:00", start: "2026-03-01T20:00:00.000Z", taps: 4, botTaps: 0 },
          { at: "2026-03-01T21:00", start: "2026-03-01T21:00:00.000Z", taps: 1, botTaps: 1 },
          { at: "2026-03-02T20:00", start: "2026-03-02T20:00:00.000Z", taps: 1, botTaps: 0 }
        ])
        const chosen = yield* call("GET", `${org}/analytics/events/${eventId}/timeseries`, { key })
        expect(chosen.body.bucket).toBe("minute")

        const ranged = yield* call(
          "GET",
          `${org}/analytics/events/${eventId}/summary?from=${new Date(start).toISOString()}&to=${new Date(start + 2 * HOUR).toISOString()}`,
          { key }
        )
        expect(ranged.body).toMatchObject({ totalTaps: 5, uniqueBands: 2 })

        const csv = yield* call("GET", `${org}/analytics/events/${eventId}/taps.csv`, { key })
        expect(csv.headers.get("content-type")).toContain("text/csv")
        const lines = csv.text.trim().split("\n")
        expect(lines).toHaveLength(8)
        expect(lines[0]).toContain("tapped_at")
        expect(lines[1]).toContain(new Date(start + MINUTE).toISOString())

        const activity = yield* call("GET", `${org}/bands/${idOf("A")}/activity?limit=3`, { key })
        expect(activity.body.items.map((t: { tappedAt: string }) => Date.parse(t.tappedAt))).toEqual([
          start + DAY + 10 * MINUTE,
          start + MINUTE + 9_000,
          start + MINUTE + 5_000
        ])
        expect(activity.body.items[0]).toMatchObject({ bandUid: "A", redirectKind: "FALLBACK", isBot: false })
        const rest = yield* call(
          "GET",
          `${org}/bands/${idOf("A")}/activity?cursor=${activity.body.nextCursor}`,
          { key }
        )
        expect(rest.body.items.map((t: { isDuplicate: boolean }) => t.isDuplicate)).toEqual([false])

        const campaign = yield* call("POST", `${org}/campaigns`, { key: editor, body: { name: "Tour" } })
        yield* call("PATCH", `${org}/events/${eventId}`, {
          key: editor,
          body: { campaignId: campaign.body.id }
        })
        const byCampaign = yield* call("GET", `${org}/analytics/campaigns/${campaign.body.id}/summary`, {
          key
        })
        expect(byCampaign.body).toMatchObject({ totalTaps: 6, uniqueBands: 2, engagement: 0.5 })

        // The same CSV through a background export: queued, done, downloaded.
        const queued = yield* call("POST", `${org}/exports`, { key, body: { kind: "taps", eventId } })
        expect(queued.status).toBe(202)
        expect(queued.body.status).toBe("queued")
        let exported = queued
        for (let i = 0; i < 100 && exported.body.status !== "done"; i++) {
          yield* Effect.sleep("100 millis")
          exported = yield* call("GET", `${org}/exports/${queued.body.id}`, { key })
        }
        expect(exported.body).toMatchObject({ status: "done", rows: 7, bytes: csv.text.length })
        const downloaded = yield* call("GET", `${org}/exports/${queued.body.id}/download`, { key })
        expect(downloaded.text).toBe(csv.text)
        const auditByViewer = yield* call("POST", `${org}/exports`, { key, body: { kind: "audit" } })
        expect(auditByViewer.status).toBe(403)

        const org1 = yield* call("GET", `${org}/analytics/summary`, { key })
        expect(org1.body.totalTaps).toBe(6)
        const compared = yield* call("GET", `${org}/analytics/compare?eventIds=${eventId}`, { key })
        expect(compared.body[0]).toMatchObject({ eventId, name: "Lisbon", summary: { totalTaps: 6 } })
        // An unknown id among real ones is a 404, never a 500 from summaries cut short.
        for (let i = 0; i < 5; i++) {
          const missing = yield* call(
            "GET",
            `${org}/analytics/compare?eventIds=${eventId},${eventId.slice(0, -4)}ffff,00000011-0018-1000-9fc5-c23a17823f10`,
            { key }
          )
          expect(missing.status).toBe(404)
        }
        const other = yield* createTenant(yield* bootstrapKey("analytics-other@example.com"))
        const foreign = yield* call(
          "GET",
          `/api/v1/organizations/${other.orgId}/analytics/events/${eventId}/summary`,
          {
            key: other.keys.OWNER
          }
        )
        expect(foreign.status).toBe(404)
      }).pipe(Effect.provide(TapStore.Default))
  )
})
