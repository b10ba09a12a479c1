import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { serializeStoredUrl } from "../src/Database/migrations/0008_serialized_urls.js"
import { ReadModelStore } from "../src/ReadModel/ReadModelStore.js"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness, DEFAULT_URL, TAP_DOMAIN } from "./support/AdminHarness.js"
import { request } from "./support/HotPathHarness.js"

/*
 * Issue 12, item 1: a redirect target that Node cannot put in a Location header (CR/LF, other controls,
 * anything above U+00FF) used to pass validation, be stored raw and end the process on the first tap.
 */

const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()

const tap = (tenant: Tenant, bandUid: string) =>
  Effect.flatMap(AdminServer, ({ port }) =>
    request(port, `/e?bandId=${bandUid}`, { host: `${tenant.slug}.${TAP_DOMAIN}` })
  )

const liveEvent = (tenant: Tenant, url: string, fallbackUrl: string) =>
  Effect.gen(function* () {
    const key = tenant.keys.EDITOR
    const base = `/api/v1/organizations/${tenant.orgId}/events`
    const event = yield* ok(yield* call("POST", base, { key, body: { name: "Show", fallbackUrl } }), 201)
    const eventId = event.body.id as string
    const window = yield* call("POST", `${base}/${eventId}/windows`, {
      key,
      body: { type: "LIVE", url, startsAt: iso(Date.now() - HOUR), endsAt: iso(Date.now() + HOUR) }
    })
    yield* ok(yield* call("POST", `${base}/${eventId}/status`, { key, body: { status: "ACTIVE" } }), 200)
    yield* ok(
      yield* call("POST", `${base}/${eventId}/bands/import`, {
        key,
        body: { bands: [{ bandUid: "URL-1" }] }
      }),
      200
    )
    return { eventId, base: `${base}/${eventId}`, window }
  })

layer(adminHarness(), { excludeTestServices: true, timeout: 120_000 })("hostile redirect targets", (it) => {
  it.effect("a Unicode window URL is stored and served in its serialised form", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("unicode-url@example.com"))
      const { window } = yield* liveEvent(
        tenant,
        "https://bücher.example/イベント?q=🎉",
        "https://example.com/fb"
      )
      expect(window.status).toBe(201)
      const serialised = "https://xn--bcher-kva.example/%E3%82%A4%E3%83%99%E3%83%B3%E3%83%88?q=%F0%9F%8E%89"
      expect(window.body.url).toBe(serialised)
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ url: string }>`select url from windows where id = ${window.body.id}`
      expect(row?.url).toBe(serialised)
      const first = yield* tap(tenant, "URL-1")
      expect(first.status).toBe(302)
      expect(first.location).toBe(serialised)
      // The process is still there: the next tap is answered too.
      expect((yield* tap(tenant, "URL-1")).status).toBe(302)
    })
  )

  it.effect("control characters in any URL field are refused with 400 and change nothing", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("control-url@example.com"))
      const { base } = yield* liveEvent(tenant, "https://example.com/live", "https://example.com/fb")
      const key = tenant.keys.EDITOR
      for (const url of [
        "https://example.com/\r\nSet-Cookie: a=b",
        "https://example.com/\u0000",
        "https://exa\tmple.com/",
        "https://example.com/\u007f"
      ]) {
        const window = yield* call("POST", `${base}/windows`, {
          key,
          body: { type: "POST", url, startsAt: iso(Date.now() + HOUR), endsAt: iso(Date.now() + 2 * HOUR) }
        })
        expect(window.status, JSON.stringify(url)).toBe(400)
        expect(window.text).toContain("control characters")
        const event = yield* call("PATCH", base, { key, body: { fallbackUrl: url } })
        expect(event.status).toBe(400)
        const org = yield* call("PATCH", `/api/v1/organizations/${tenant.orgId}`, {
          key: tenant.keys.OWNER,
          body: { websiteUrl: url }
        })
        expect(org.status).toBe(400)
      }
      const windows = yield* call("GET", `${base}/windows`, { key })
      expect(windows.body.items.map((w: { url: string }) => w.url)).toEqual(["https://example.com/live"])
      expect((yield* tap(tenant, "URL-1")).location).toBe("https://example.com/live")
    })
  )

  it.effect(
    "a read model holding an unusable URL answers the next destination, and the server lives on",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("poisoned-read-model@example.com"))
        const { eventId } = yield* liveEvent(tenant, "https://example.com/live", "https://example.com/fb")
        const store = yield* ReadModelStore
        const snapshot = yield* Effect.orDie(store.org(tenant.orgId))
        const poison = (window: string, fallback: string | null, website: string | null) =>
          Effect.gen(function* () {
            yield* Effect.orDie(
              store.writeOrganization({
                snapshot: {
                  ...snapshot!,
                  websiteUrl: website,
                  events: snapshot!.events.map((event) => ({
                    ...event,
                    fallbackUrl: fallback,
                    windows: event.windows.map((w) => ({ ...w, url: window }))
                  }))
                },
                eventIds: [eventId]
              })
            )
            yield* Effect.orDie(store.announce(tenant.orgId))
          })
        // What an older version stored: raw Unicode, CR/LF.
        yield* poison("https://example.jp/イベント", "https://example.com/fb", "https://site.example/")
        const fallback = yield* tap(tenant, "URL-1")
        expect(fallback.status).toBe(302)
        expect(fallback.location).toBe("https://example.com/fb")
        yield* poison(
          "https://example.com/\r\nX-Injected: 1",
          "https://example.com/\n",
          "https://site.example/"
        )
        const website = yield* tap(tenant, "URL-1")
        expect(website.location).toBe("https://site.example/")
        expect(website.headers["x-injected"]).toBeUndefined()
        yield* poison("https://example.com/\u0000", "https://ü.example/\r", "https://example.com/ü\n")
        expect((yield* tap(tenant, "URL-1")).location).toBe(DEFAULT_URL)
        // Still serving, and the admin API still answers.
        expect((yield* call("GET", "/health/live")).status).toBe(200)
      })
  )

  it.effect(
    "the migration's rewrite of stored URLs is header-safe for whatever an older version accepted",
    () =>
      Effect.sync(() => {
        expect(serializeStoredUrl("https://example.jp/イベント")).toBe(
          "https://example.jp/%E3%82%A4%E3%83%99%E3%83%B3%E3%83%88"
        )
        expect(serializeStoredUrl("https://example.com/a\r\nb")).toBe("https://example.com/ab")
        expect(serializeStoredUrl("https://bücher.example/")).toBe("https://xn--bcher-kva.example/")
        for (const raw of [
          "https://ex ample/ü",
          "https://example.com/\u0085x",
          "https://example.com/%zz ü"
        ]) {
          expect(serializeStoredUrl(raw)).toMatch(/^[!-~]+$/)
        }
      })
  )
})
