import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Projector } from "../src/ReadModel/Projector.js"
import { DEFAULT_URL, eventually, harness, request, TAP_DOMAIN, TapServer } from "./support/HotPathHarness.js"
import { type EventSpec, show, tenant } from "./support/TapFixtures.js"

const HOUR = 3_600_000
const BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"

interface Case {
  readonly name: string
  readonly website?: string | null
  readonly events: (slug: string) => ReadonlyArray<EventSpec>
  readonly path: (ids: { eventIds: ReadonlyArray<string>; orgId: string }) => string
  readonly host?: (slug: string) => string
  readonly headers?: Record<string, string>
  readonly status: number
  /** The organisation website is https://{slug}.example/; event URLs use the case token. */
  readonly location?: (slug: string, token: string) => string
}

const band = (uid: string) => `/e?bandId=${uid}`

const cases: ReadonlyArray<Case> = [
  {
    name: "a known band of an ACTIVE scheduled event goes to the window of now",
    events: (s) => [{ windows: show(s), bands: ["B-1"] }],
    path: () => band("B-1"),
    status: 302,
    location: (_, s) => `https://example.com/${s}/live`
  },
  {
    name: "manual mode sends every tap to the chosen window",
    events: (s) => [{ windows: show(s), bands: ["B-1"], scheduleMode: "manual", manualWindow: 2 }],
    path: () => band("B-1"),
    status: 302,
    location: (_, s) => `https://example.com/${s}/post`
  },
  {
    name: "an event that is not ACTIVE sends its bands to the organisation website",
    events: (s) => [{ windows: show(s), bands: ["B-1"], status: "DRAFT" }],
    path: () => band("B-1"),
    status: 302,
    location: (s) => `https://${s}.example/`
  },
  {
    name: "no window applies: the event's fallback",
    events: () => [{ windows: [], bands: ["B-1"] }],
    path: () => band("B-1"),
    status: 302,
    location: (s) => `https://example.com/${s}/fallback-0`
  },
  {
    name: "no window and no fallback: the organisation website",
    events: () => [{ windows: [], bands: ["B-1"], fallbackUrl: null }],
    path: () => band("B-1"),
    status: 302,
    location: (s) => `https://${s}.example/`
  },
  {
    name: "no window, fallback or website: the platform default",
    website: null,
    events: () => [{ windows: [], bands: ["B-1"], fallbackUrl: null }],
    path: () => band("B-1"),
    status: 302,
    location: () => DEFAULT_URL
  },
  {
    name: "a flagged band goes to the website",
    events: (s) => [{ windows: show(s), bands: ["B-1"], flagged: ["B-1"] }],
    path: () => band("B-1"),
    status: 302,
    location: (s) => `https://${s}.example/`
  },
  {
    name: "a flagged band of an event with assign_on_flag gets the event's destination",
    events: (s) => [{ windows: show(s), bands: ["B-1"], flagged: ["B-1"], assignOnFlag: true }],
    path: () => band("B-1"),
    status: 302,
    location: (_, s) => `https://example.com/${s}/live`
  },
  {
    name: "a band in several events follows the one closest in date",
    events: (s) => [
      {
        windows: [
          {
            type: "LIVE",
            url: `https://example.com/${s}/next-month`,
            from: 30 * 24 * HOUR,
            to: 31 * 24 * HOUR
          }
        ],
        startsIn: 30 * 24 * HOUR,
        endsIn: 31 * 24 * HOUR,
        bands: ["MULTI-1"]
      },
      { windows: show(s), bands: ["MULTI-1"] }
    ],
    path: () => band("MULTI-1"),
    status: 302,
    location: (_, s) => `https://example.com/${s}/live`
  },
  {
    name: "the eventId form selects the band's entry in that event",
    events: (s) => [
      {
        windows: [{ type: "LIVE", url: `https://example.com/${s}/first`, from: -HOUR, to: HOUR }],
        bands: ["B-1"]
      },
      {
        windows: [{ type: "LIVE", url: `https://example.com/${s}/second`, from: -HOUR, to: HOUR }],
        bands: ["B-1"]
      }
    ],
    path: ({ eventIds }) => `${band("B-1")}&eventId=${eventIds[1]}`,
    host: () => "any.host.example",
    status: 302,
    location: (_, s) => `https://example.com/${s}/second`
  },
  {
    name: "an orgId that does not own the event is an unknown organisation",
    events: (s) => [{ windows: show(s), bands: ["B-1"] }],
    path: ({ eventIds }) =>
      `${band("B-1")}&eventId=${eventIds[0]}&orgId=01900000-0000-7000-8000-000000000000`,
    status: 404
  },
  {
    name: "an unknown organisation answers 404",
    events: (s) => [{ windows: show(s), bands: ["B-1"] }],
    path: () => band("B-1"),
    host: () => `nobody-here.${TAP_DOMAIN}`,
    status: 404
  },
  {
    name: "utm values replace the destination's own and are kept with the rest of its query",
    events: () => [
      {
        windows: [
          { type: "LIVE", url: "https://example.com/live?utm_source=printed&lang=fr", from: -HOUR, to: HOUR }
        ],
        bands: ["B-1"]
      }
    ],
    path: () => `${band("B-1")}&utm_source=nfc&utm_medium=band`,
    status: 302,
    location: () => "https://example.com/live?utm_source=nfc&lang=fr&utm_medium=band"
  },
  {
    name: "a missing bandId is a 400",
    events: (s) => [{ windows: show(s) }],
    path: () => "/e",
    status: 400
  },
  {
    name: "an overlong bandId is a 400",
    events: (s) => [{ windows: show(s) }],
    path: () => band("A".repeat(65)),
    status: 400
  },
  {
    name: "a non-ASCII bandId is a 400",
    events: (s) => [{ windows: show(s) }],
    path: () => band("B%C3%89ND"),
    status: 400
  },
  {
    name: "a bandId with a path or script in it is a 400",
    events: (s) => [{ windows: show(s) }],
    path: () => band("..%2F..%2Fetc"),
    status: 400
  }
]

for (const backend of ["redis", "memory"] as const)
  describe(`GET /e semantics, ${backend} read model and pipeline, real PostgreSQL`, () => {
    layer(harness({ backend }), { excludeTestServices: true, timeout: 60_000 })((it) => {
      for (const c of cases) {
        it.effect(c.name, () =>
          Effect.gen(function* () {
            const { port } = yield* TapServer
            const token = `case-${cases.indexOf(c)}`
            const t = yield* tenant({ website: c.website, events: c.events(token) })
            const slug = t.slug
            const response = yield* request(port, c.path(t), {
              host: c.host?.(slug) ?? `${slug}.${TAP_DOMAIN}`,
              headers: c.headers ?? {}
            })
            expect(response.status, response.body).toBe(c.status)
            expect(response.headers["cache-control"]).toBe("no-store")
            if (c.location !== undefined) expect(response.location).toBe(c.location(slug, token))
            if (c.status !== 302) expect(response.location).toBeUndefined()
          })
        )
      }

      it.effect("HEAD redirects like GET and is stored as a bot tap, never counted", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const { port } = yield* TapServer
          const t = yield* tenant({ events: [{ windows: show("h"), bands: ["HEAD-1"] }] })
          const head = yield* request(port, band("HEAD-1"), {
            host: `${t.slug}.${TAP_DOMAIN}`,
            method: "HEAD"
          })
          expect(head.status).toBe(302)
          expect(head.location).toBe("https://example.com/h/live")
          const rows = yield* eventually(
            sql<{ isBot: boolean; tapCount: string }>`
            select t.is_bot, b.tap_count from taps t join bands b on b.id = t.band_id
            where t.organization_id = ${t.orgId}`,
            (r) => r.length === 1
          )
          expect(rows).toEqual([{ isBot: true, tapCount: "0" }])
        })
      )

      it.effect("crawlers and link previews are redirected, stored as bots and not counted", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const { port } = yield* TapServer
          const t = yield* tenant({ events: [{ windows: show("b"), bands: ["BOT-1"] }] })
          for (const agent of [
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "facebookexternalhit/1.1"
          ]) {
            const response = yield* request(port, band("BOT-1"), {
              host: `${t.slug}.${TAP_DOMAIN}`,
              headers: { "user-agent": agent }
            })
            expect(response.status).toBe(302)
          }
          const rows = yield* eventually(
            sql<{ isBot: boolean }>`select is_bot from taps where organization_id = ${t.orgId}`,
            (r) => r.length === 2
          )
          expect(rows.map((r) => r.isBot)).toEqual([true, true])
        })
      )

      it.effect(
        "a known band's tap is stored with its window, mode, kind, utm values and truncated address",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const { port } = yield* TapServer
            const t = yield* tenant({ events: [{ windows: show("s"), bands: ["STORE-1"] }] })
            yield* request(port, `${band("STORE-1")}&utm_campaign=tour`, {
              host: `${t.slug}.${TAP_DOMAIN}`,
              headers: { "x-forwarded-for": "198.51.100.23, 203.0.113.77", "user-agent": BROWSER }
            })
            const [tap] = yield* eventually(
              sql<Record<string, unknown>>`
            select t.mode, t.redirect_kind, t.destination_url, t.utm_campaign, host(t.client_ip) as ip, t.is_bot,
              t.is_duplicate, t.user_agent, b.tap_count, w.type as window_type
            from taps t join bands b on b.id = t.band_id join windows w on w.id = t.window_id
            where t.organization_id = ${t.orgId}`,
              (r) => r.length === 1
            )
            expect(tap).toEqual({
              mode: "LIVE",
              redirectKind: "WINDOW",
              destinationUrl: "https://example.com/s/live?utm_campaign=tour",
              utmCampaign: "tour",
              ip: "203.0.113.0",
              isBot: false,
              isDuplicate: false,
              userAgent: BROWSER,
              tapCount: "1",
              windowType: "LIVE"
            })
          })
      )

      it.effect("a second tap of one band within the duplicate interval is flagged duplicate", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const { port } = yield* TapServer
          const t = yield* tenant({ events: [{ windows: show("d"), bands: ["DUP-1"] }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          yield* request(port, band("DUP-1"), { host })
          yield* request(port, band("DUP-1"), { host })
          yield* Effect.sleep("2200 millis")
          yield* request(port, band("DUP-1"), { host })
          const rows = yield* eventually(
            sql<{
              isDuplicate: boolean
            }>`select is_duplicate from taps where organization_id = ${t.orgId} order by tapped_at, id`,
            (r) => r.length === 3
          )
          expect(rows.map((r) => r.isDuplicate)).toEqual([false, true, false])
        })
      )

      it.effect(
        "an unknown band is auto-assigned: redirected now, its band row created off the hot path",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const { port } = yield* TapServer
            const t = yield* tenant({ events: [{ windows: show("a") }] })
            const host = `${t.slug}.${TAP_DOMAIN}`
            const first = yield* request(port, band("NEW-1"), { host })
            expect(first.location).toBe("https://example.com/a/live")
            const [created] = yield* eventually(
              sql<{ autoAssigned: boolean; flagged: boolean; tapCount: string }>`
            select auto_assigned, flagged, tap_count from bands where organization_id = ${t.orgId} and band_uid = 'NEW-1'`,
              (r) => r.length === 1 && r[0]!.tapCount === "1"
            )
            expect(created).toEqual({ autoAssigned: true, flagged: false, tapCount: "1" })
            // The band is now in the read model: the next tap is a known band's and is attributed to it.
            yield* Effect.sleep("100 millis")
            yield* request(port, band("NEW-1"), { host })
            const taps = yield* eventually(
              sql<{ bandId: string | null }>`select band_id from taps where organization_id = ${t.orgId}`,
              (r) => r.length === 2
            )
            expect(taps.every((tap) => tap.bandId !== null)).toBe(true)
            expect(
              (yield* sql<{ n: string }>`select count(*) as n from bands where band_uid = 'NEW-1'`)[0]?.n
            ).toBe("1")
          })
      )

      it.effect("an unknown band tapped far from its event is flagged and sent to the website", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const { port } = yield* TapServer
          const t = yield* tenant({ events: [{ windows: show("f") }] })
          const response = yield* request(port, band("FAR-1"), {
            host: `${t.slug}.${TAP_DOMAIN}`,
            headers: { "x-test-latitude": "40.7128", "x-test-longitude": "-74.0060" }
          })
          expect(response.location).toBe(`https://${t.slug}.example/`)
          const [created] = yield* eventually(
            sql<{ flagged: boolean; flagReason: string; autoAssignDistanceMiles: number }>`
            select flagged, flag_reason, auto_assign_distance_miles from bands where organization_id = ${t.orgId}`,
            (r) => r.length === 1
          )
          expect(created?.flagged).toBe(true)
          expect(created?.autoAssignDistanceMiles).toBeGreaterThan(3000)
          // Now known and flagged: it keeps going to the website, wherever it is tapped.
          yield* Effect.sleep("100 millis")
          const again = yield* request(port, band("FAR-1"), { host: `${t.slug}.${TAP_DOMAIN}` })
          expect(again.location).toBe(`https://${t.slug}.example/`)
        })
      )

      it.effect("methods other than GET and HEAD answer 405", () =>
        Effect.gen(function* () {
          const { port } = yield* TapServer
          const response = yield* request(port, band("B-1"), { method: "POST" })
          expect(response.status).toBe(405)
          expect(response.headers.allow).toBe("GET, HEAD")
        })
      )

      it.effect("a window boundary switches the destination on time, with no job running", () =>
        Effect.gen(function* () {
          const { port } = yield* TapServer
          const t = yield* tenant({
            events: [
              {
                windows: [
                  { type: "PRE", url: "https://example.com/before", from: -HOUR, to: 1500 },
                  { type: "LIVE", url: "https://example.com/during", from: 1500, to: HOUR }
                ],
                bands: ["EDGE-1"]
              }
            ]
          })
          const host = `${t.slug}.${TAP_DOMAIN}`
          expect((yield* request(port, band("EDGE-1"), { host })).location).toBe("https://example.com/before")
          yield* Effect.sleep("1700 millis")
          expect((yield* request(port, band("EDGE-1"), { host })).location).toBe("https://example.com/during")
        })
      )

      it.effect("a deleted organisation leaves the read model: its taps answer 404", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const projector = yield* Projector
          const { port } = yield* TapServer
          const t = yield* tenant({ events: [{ windows: show("g"), bands: ["GONE-1"] }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          expect((yield* request(port, band("GONE-1"), { host })).status).toBe(302)
          yield* sql`update organizations set deleted_at = now() where id = ${t.orgId}`
          yield* projector.organization(t.orgId)
          yield* Effect.sleep("200 millis")
          expect((yield* request(port, band("GONE-1"), { host })).status).toBe(404)
          expect((yield* projector.status).stale).toEqual([])
        })
      )

      it.effect("an admin change reaches the hot path through the projector", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const projector = yield* Projector
          const { port } = yield* TapServer
          const t = yield* tenant({ events: [{ windows: show("c"), bands: ["CHG-1"] }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          expect((yield* request(port, band("CHG-1"), { host })).location).toBe("https://example.com/c/live")
          yield* sql`update windows set url = 'https://example.com/changed' where event_id = ${t.eventIds[0]!} and type = 'LIVE'`
          yield* projector.organization(t.orgId)
          yield* Effect.sleep("200 millis")
          expect((yield* request(port, band("CHG-1"), { host })).location).toBe("https://example.com/changed")
          expect((yield* projector.status).stale).toEqual([])
        })
      )
    })
  })
