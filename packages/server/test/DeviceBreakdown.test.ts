import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { rollupDirtyHours } from "../src/Analytics/Rollups.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"
import { TapStore } from "../src/Taps/TapStore.js"
import { bootstrapKey, call, createTenant, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { eventWith as fixtureEvent, storeAndRollUp } from "./support/AnalyticsFixtures.js"
import { ANDROID, IPHONE, MAC } from "./support/UserAgents.js"

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const utc = (iso: string) => Date.parse(`${iso}Z`)

/** The event's fixtures and its devices endpoint. */
const eventWith = (tenant: Tenant, bands: ReadonlyArray<string>) =>
  Effect.map(fixtureEvent(tenant, { timezone: "UTC", bands }), ({ eventId, tap }) => ({
    eventId,
    tap: (uid: string, at: number, ua: string | null, extra: Partial<TapRecord> = {}) =>
      tap(uid, at, { ua, ...extra }),
    devices: (query = "") =>
      `/api/v1/organizations/${tenant.orgId}/analytics/events/${eventId}/devices${query}`
  }))

layer(adminHarness(), { excludeTestServices: true, timeout: 120_000 })("device breakdown", (it) => {
  it.effect("counts the writer's taps by device from the rollups, bots apart, within a range", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const tenant = yield* createTenant(yield* bootstrapKey("devices@example.com"))
      const { eventId, tap, devices } = yield* eventWith(tenant, ["A", "B"])
      const start = utc("2026-05-01T18:00")
      yield* storeAndRollUp([
        tap("A", start + MINUTE, IPHONE),
        tap("A", start + 2 * MINUTE, IPHONE),
        tap("B", start + 3 * MINUTE, ANDROID),
        tap("B", start + HOUR, MAC),
        tap("B", start + HOUR + MINUTE, null),
        tap("A", start + HOUR + 2 * MINUTE, IPHONE, { bot: true })
      ])
      // Classified once, by the writer.
      const stored = yield* sql<{ device: number | null; n: string }>`
        select device, count(*) as n from taps where event_id = ${eventId} group by device order by device`
      expect(stored.map((row) => [row.device, Number(row.n)])).toEqual([
        [1, 3],
        [2, 1],
        [3, 2]
      ])
      const all = yield* call("GET", devices(), { key: tenant.keys.VIEWER })
      expect(all.status).toBe(200)
      expect(all.body).toEqual({ ios: 2, android: 1, other: 2, unknown: 0 })
      const summary = yield* call(
        "GET",
        `/api/v1/organizations/${tenant.orgId}/analytics/events/${eventId}/summary`,
        {
          key: tenant.keys.VIEWER
        }
      )
      expect(summary.body.totalTaps).toBe(5)
      const ranged = yield* call("GET", devices(`?from=${new Date(start + 3 * MINUTE).toISOString()}`), {
        key: tenant.keys.VIEWER
      })
      expect(ranged.body).toEqual({ ios: 0, android: 1, other: 2, unknown: 0 })
      const empty = yield* call(
        "GET",
        devices(`?from=${new Date(start).toISOString()}&to=${new Date(start + MINUTE).toISOString()}`),
        { key: tenant.keys.VIEWER }
      )
      expect(empty.body).toEqual({ ios: 0, android: 0, other: 0, unknown: 0 })
      const bad = yield* call("GET", devices("?from=yesterday"), { key: tenant.keys.VIEWER })
      expect(bad.status).toBe(400)
    }).pipe(Effect.provide(TapStore.Default))
  )

  it.effect("survives raw-tap retention: written, rolled up, partition dropped, breakdown unchanged", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const tenant = yield* createTenant(yield* bootstrapKey("devices-retention@example.com"))
      const { eventId, tap, devices } = yield* eventWith(tenant, ["A", "B"])
      yield* sql`create table taps_2001_03 partition of taps for values from ('2001-03-01') to ('2001-04-01')`
      const start = utc("2001-03-10T20:00")
      yield* storeAndRollUp([
        tap("A", start, IPHONE),
        tap("B", start + MINUTE, ANDROID),
        tap("B", start + 2 * HOUR, ANDROID),
        tap("A", start + 3 * HOUR, "curl/8.5.0")
      ])
      const before = yield* call("GET", devices(), { key: tenant.keys.VIEWER })
      expect(before.body).toEqual({ ios: 1, android: 2, other: 1, unknown: 0 })
      const dropped = yield* sql<{ name: string }>`select tapline_drop_tap_partitions(12) as name`
      expect(dropped.map((row) => row.name)).toContain("taps_2001_03")
      const [raw] = yield* sql<{ n: string }>`select count(*) as n from taps where event_id = ${eventId}`
      expect(Number(raw!.n)).toBe(0)
      while ((yield* rollupDirtyHours()) > 0) {}
      const after = yield* call("GET", devices(), { key: tenant.keys.VIEWER })
      expect(after.body).toEqual({ ios: 1, android: 2, other: 1, unknown: 0 })
    }).pipe(Effect.provide(TapStore.Default))
  )

  it.effect("another organisation's event is a 404, an unknown one too; every member reads", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey("devices-tenants@example.com")
      const mine = yield* createTenant(admin)
      const theirs = yield* createTenant(admin)
      const { eventId, tap, devices } = yield* eventWith(theirs, ["A"])
      yield* storeAndRollUp([tap("A", utc("2026-05-01T18:00"), IPHONE)])
      expect((yield* call("GET", devices(), { key: theirs.keys.VIEWER })).body).toEqual({
        ios: 1,
        android: 0,
        other: 0,
        unknown: 0
      })
      const crossed = yield* call(
        "GET",
        `/api/v1/organizations/${mine.orgId}/analytics/events/${eventId}/devices`,
        {
          key: mine.keys.OWNER
        }
      )
      expect(crossed.status).toBe(404)
      expect(crossed.text).not.toContain('"ios"')
      // Their key on their organisation's path is fine; on mine, refused before any read.
      const foreignKey = yield* call(
        "GET",
        `/api/v1/organizations/${mine.orgId}/analytics/events/${eventId}/devices`,
        {
          key: theirs.keys.OWNER
        }
      )
      expect([403, 404]).toContain(foreignKey.status)
      const unknown = yield* call(
        "GET",
        `/api/v1/organizations/${theirs.orgId}/analytics/events/0190b4a4-0000-7000-8000-000000000000/devices`,
        { key: theirs.keys.VIEWER }
      )
      expect(unknown.status).toBe(404)
    }).pipe(Effect.provide(TapStore.Default))
  )
})
