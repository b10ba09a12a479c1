import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Jobs } from "../src/Jobs/Jobs.js"
import { ReadModelStore } from "../src/ReadModel/ReadModelStore.js"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness, TAP_DOMAIN } from "./support/AdminHarness.js"
import { request } from "./support/HotPathHarness.js"

/*
 * The trash is purged: by an OWNER through `DELETE …?purge=true` (only what is already in the trash), and by
 * the recurring job once an item has been there longer than TRASH_RETENTION (one hour here; the tests move
 * deleted_at into the past with SQL instead of waiting).
 */

const until = <A, R>(check: Effect.Effect<A, never, R>, done: (a: A) => boolean, timeoutMs = 20_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = yield* check
      if (done(value) || Date.now() > deadline) return value
      yield* Effect.sleep("100 millis")
    }
  })

const org = (tenant: Tenant) => `/api/v1/organizations/${tenant.orgId}`

const count = (query: string, id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: string }>`select count(*) as n from ${sql(query)} where id = ${id}`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      Effect.orDie
    )
  )

/** Moves an item's deleted_at into the past, as if it had been in the trash that long. */
const trashedAgo = (table: "campaigns" | "events" | "bands", id: string, minutes: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.orDie(
      sql`update ${sql(table)} set deleted_at = now() - make_interval(mins => ${minutes}) where id = ${id}`
    )
  )

const auditOf = (tenant: Tenant, id: string) =>
  Effect.map(call("GET", `${org(tenant)}/audit?resourceId=${id}`, { key: tenant.keys.OWNER }), (reply) =>
    (reply.body.items as ReadonlyArray<{ action: string }>).map((entry) => entry.action)
  )

layer(adminHarness({ TRASH_RETENTION: "1 hour" }), { excludeTestServices: true, timeout: 120_000 })(
  "trash purge",
  (it) => {
    it.effect("an OWNER purges a campaign, an event and a band from the trash, each audited", () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("purge-api@example.com"))
        const owner = tenant.keys.OWNER
        const campaign = yield* ok(
          yield* call("POST", `${org(tenant)}/campaigns`, { key: owner, body: { name: "Tour" } }),
          201
        )
        const campaignId = campaign.body.id as string
        const { eventId } = yield* liveEvent(tenant, ["P-1", "P-2"])
        const bands = yield* call("GET", `${org(tenant)}/bands?eventId=${eventId}`, { key: owner })
        const bandId = (bands.body.items as ReadonlyArray<{ id: string; bandUid: string }>).find(
          (band) => band.bandUid === "P-2"
        )!.id

        // A live item is not purged: it goes to the trash first (one call never loses it).
        for (const path of [`campaigns/${campaignId}`, `events/${eventId}`, `bands/${bandId}`]) {
          const live = yield* call("DELETE", `${org(tenant)}/${path}?purge=true`, { key: owner })
          expect(live.status, path).toBe(409)
          yield* ok(yield* call("DELETE", `${org(tenant)}/${path}`, { key: owner }), 204)
          // VIEWER and EDITOR may trash (EDITOR) but never purge.
          for (const role of ["VIEWER", "EDITOR"] as const) {
            const refused = yield* call("DELETE", `${org(tenant)}/${path}?purge=true`, {
              key: tenant.keys[role]
            })
            expect(refused.status, `${path} as ${role}`).toBe(403)
          }
        }
        yield* ok(
          yield* call("DELETE", `${org(tenant)}/bands/${bandId}?purge=true`, { key: owner }),
          204,
          "purge band"
        )
        yield* ok(
          yield* call("DELETE", `${org(tenant)}/campaigns/${campaignId}?purge=true`, { key: owner }),
          204,
          "purge campaign"
        )
        yield* ok(
          yield* call("DELETE", `${org(tenant)}/events/${eventId}?purge=true`, { key: owner }),
          204,
          "purge event"
        )
        expect(yield* count("bands", bandId)).toBe(0)
        expect(yield* count("campaigns", campaignId)).toBe(0)
        expect(yield* count("events", eventId)).toBe(0)
        expect(yield* auditOf(tenant, bandId)).toContain("band.purge")
        expect(yield* auditOf(tenant, campaignId)).toContain("campaign.purge")
        expect(yield* auditOf(tenant, eventId)).toContain("event.purge")

        // Gone for good: not in the trash, not restorable, a second purge finds nothing.
        for (const path of [`campaigns/${campaignId}`, `events/${eventId}`, `bands/${bandId}`]) {
          const again = yield* call("DELETE", `${org(tenant)}/${path}?purge=true`, { key: owner })
          expect(again.status, path).toBe(404)
          const restore = yield* call("POST", `${org(tenant)}/${path}/restore`, { key: owner })
          expect(restore.status, path).toBe(404)
        }
        const unknown = "01a20000-0000-7000-8000-000000000000"
        const missing = yield* call("DELETE", `${org(tenant)}/events/${unknown}?purge=true`, { key: owner })
        expect(missing.status).toBe(404)
        const bad = yield* call("DELETE", `${org(tenant)}/events/${unknown}?purge=maybe`, { key: owner })
        expect(bad.status).toBe(400)
      })
    )

    it.effect("purging an event keeps its taps and rollups; its analytics still answer by id", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const tenant = yield* createTenant(yield* bootstrapKey("purge-analytics@example.com"))
        const owner = tenant.keys.OWNER
        const { eventId } = yield* liveEvent(tenant, ["A-1"])
        const bandId = (
          (yield* call("GET", `${org(tenant)}/bands?eventId=${eventId}`, { key: owner })).body
            .items as Array<{
            id: string
          }>
        )[0]!.id
        // Taps and their rollups as the writer and the rollup job leave them.
        yield* Effect.orDie(sql`
          insert into taps (id, organization_id, event_id, band_id, band_uid, redirect_kind, destination_url,
            tapped_at)
          values (gen_random_uuid(), ${tenant.orgId}, ${eventId}, ${bandId}, 'A-1', 'WINDOW',
            'https://example.com/live', now())`)
        yield* Effect.orDie(sql`
          insert into tap_rollups_minute (organization_id, event_id, bucket, mode, redirect_kind, taps)
          values (${tenant.orgId}, ${eventId}, date_trunc('minute', now()), 'LIVE', 'WINDOW', 7)`)
        // The band's own counter and its daily activity, as the writer and the rollup job keep them.
        yield* Effect.orDie(sql`update bands set tap_count = 7 where id = ${bandId}`)
        yield* Effect.orDie(sql`
          insert into band_activity_daily (organization_id, event_id, band_id, day, taps)
          values (${tenant.orgId}, ${eventId}, ${bandId}, current_date, 7)`)
        const summary = `${org(tenant)}/analytics/events/${eventId}/summary`
        const before = yield* ok(yield* call("GET", summary, { key: tenant.keys.VIEWER }), 200)
        expect(before.body.totalTaps).toBe(7)

        yield* ok(yield* call("DELETE", `${org(tenant)}/events/${eventId}`, { key: owner }), 204)
        yield* ok(yield* call("DELETE", `${org(tenant)}/events/${eventId}?purge=true`, { key: owner }), 204)

        const taps = yield* Effect.orDie(
          sql<{ n: string }>`select count(*) as n from taps where event_id = ${eventId}`
        )
        expect(Number(taps[0]!.n)).toBe(1)
        const after = yield* ok(yield* call("GET", summary, { key: tenant.keys.VIEWER }), 200, "summary")
        expect(after.body.totalTaps).toBe(7)
        // The bands are gone with the event; who tapped is still known from the rollups.
        expect(after.body.uniqueBands).toBe(before.body.uniqueBands)
        expect(after.body.uniqueBands).toBe(1)
        expect(after.body.topBands).toEqual([{ bandId, bandUid: "A-1", taps: 7 }])
        const series = yield* call("GET", `${org(tenant)}/analytics/events/${eventId}/timeseries`, {
          key: tenant.keys.VIEWER
        })
        expect(series.status).toBe(200)
        expect(
          (series.body.points as ReadonlyArray<{ taps: number }>).reduce((sum, point) => sum + point.taps, 0)
        ).toBe(7)
        const csv = yield* call("GET", `${org(tenant)}/analytics/events/${eventId}/taps.csv`, {
          key: tenant.keys.VIEWER
        })
        expect(csv.status).toBe(200)
        expect(csv.text).toContain("A-1")
        // Another organisation still learns nothing about it.
        const other = yield* createTenant(yield* bootstrapKey("purge-other@example.com"))
        const theirs = yield* call("GET", `${org(other)}/analytics/events/${eventId}/summary`, {
          key: other.keys.OWNER
        })
        expect(theirs.status).toBe(404)
      })
    )

    it.effect("the hot path forgets a purged event and its bands", () =>
      Effect.gen(function* () {
        const { port } = yield* AdminServer
        const store = yield* ReadModelStore
        const tenant = yield* createTenant(yield* bootstrapKey("purge-hotpath@example.com"))
        const owner = tenant.keys.OWNER
        const { eventId } = yield* liveEvent(tenant, ["H-1"])
        const tap = () => request(port, "/e?bandId=H-1", { host: `${tenant.slug}.${TAP_DOMAIN}` })
        expect((yield* tap()).location).toBe("https://example.com/live")
        expect(yield* Effect.promise(() => store.orgIdByEvent(eventId))).toBe(tenant.orgId)
        yield* ok(yield* call("DELETE", `${org(tenant)}/events/${eventId}`, { key: owner }), 204)
        yield* ok(yield* call("DELETE", `${org(tenant)}/events/${eventId}?purge=true`, { key: owner }), 204)
        // Neither the event form of the URL nor the band's entry leads to the purged event any more.
        expect(yield* Effect.promise(() => store.orgIdByEvent(eventId))).toBeNull()
        expect(yield* Effect.orDie(store.bandUids(tenant.orgId))).not.toContain("H-1")
        expect((yield* tap()).location).not.toBe("https://example.com/live")
      })
    )

    it.effect("purging a campaign unlinks its events, live or in the trash", () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("purge-campaign@example.com"))
        const owner = tenant.keys.OWNER
        const campaignId = (yield* ok(
          yield* call("POST", `${org(tenant)}/campaigns`, { key: owner, body: { name: "Tour" } }),
          201
        )).body.id as string
        const event = (name: string) =>
          Effect.map(
            call("POST", `${org(tenant)}/events`, { key: owner, body: { name, campaignId } }),
            (reply) => reply.body.id as string
          )
        const kept = yield* event("Kept")
        const trashed = yield* event("Trashed")
        expect((yield* call("GET", `${org(tenant)}/events/${kept}`, { key: owner })).body.campaignId).toBe(
          campaignId
        )
        yield* ok(yield* call("DELETE", `${org(tenant)}/events/${trashed}`, { key: owner }), 204)
        yield* ok(yield* call("DELETE", `${org(tenant)}/campaigns/${campaignId}`, { key: owner }), 204)
        yield* ok(
          yield* call("DELETE", `${org(tenant)}/campaigns/${campaignId}?purge=true`, { key: owner }),
          204,
          "purge campaign"
        )
        const live = yield* ok(yield* call("GET", `${org(tenant)}/events/${kept}`, { key: owner }), 200)
        expect(live.body.campaignId ?? null).toBeNull()
        const restored = yield* ok(
          yield* call("POST", `${org(tenant)}/events/${trashed}/restore`, { key: owner }),
          200
        )
        expect(restored.body.campaignId ?? null).toBeNull()
      })
    )

    it.effect("the job purges only what has been in the trash longer than TRASH_RETENTION", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs
        const tenant = yield* createTenant(yield* bootstrapKey("purge-job@example.com"))
        const owner = tenant.keys.OWNER
        const campaign = (name: string) =>
          Effect.map(
            call("POST", `${org(tenant)}/campaigns`, { key: owner, body: { name } }),
            (reply) => reply.body.id as string
          )
        const oldCampaign = yield* campaign("Old")
        const newCampaign = yield* campaign("New")
        const oldEvent = (yield* liveEvent(tenant, ["J-1"], "Old")).eventId
        const newEvent = (yield* liveEvent(tenant, ["J-2"], "New")).eventId
        const { eventId: bandsEvent } = yield* liveEvent(tenant, ["J-3", "J-4"], "Bands")
        const bandIds = Object.fromEntries(
          (
            (yield* call("GET", `${org(tenant)}/bands?eventId=${bandsEvent}`, { key: owner })).body
              .items as ReadonlyArray<{ id: string; bandUid: string }>
          ).map((band) => [band.bandUid, band.id])
        )
        const trash = [
          ["campaigns", oldCampaign, 120],
          ["campaigns", newCampaign, 30],
          ["events", oldEvent, 61],
          ["events", newEvent, 59],
          ["bands", bandIds["J-3"]!, 24 * 60],
          ["bands", bandIds["J-4"]!, 10]
        ] as const
        for (const [table, id, minutes] of trash) {
          yield* ok(yield* call("DELETE", `${org(tenant)}/${table}/${id}`, { key: owner }), 204)
          yield* trashedAgo(table, id, minutes)
        }

        yield* jobs.enqueue("trash.purge", {})
        const gone = yield* until(
          Effect.all([
            count("campaigns", oldCampaign),
            count("events", oldEvent),
            count("bands", bandIds["J-3"]!)
          ]),
          (counts) => counts.every((n) => n === 0)
        )
        expect(gone).toEqual([0, 0, 0])
        expect(yield* count("campaigns", newCampaign)).toBe(1)
        expect(yield* count("events", newEvent)).toBe(1)
        expect(yield* count("bands", bandIds["J-4"]!)).toBe(1)
        expect(yield* auditOf(tenant, oldEvent)).toContain("event.purge")
        // What stays in the trash can still be restored.
        yield* ok(yield* call("POST", `${org(tenant)}/events/${newEvent}/restore`, { key: owner }), 200)
      })
    )
  }
)
