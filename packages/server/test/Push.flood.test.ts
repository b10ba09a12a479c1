import { randomBytes } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { hasControlCharacters } from "@tapline/domain"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import { AppConfig } from "../src/Config/AppConfig.js"
import * as PageToken from "../src/Crypto/PageToken.js"
import { Push, type PushMessage } from "../src/Push/Push.js"
import * as PushProviders from "../src/Push/providers.js"
import * as WebPush from "../src/Push/WebPush.js"
import { MAX_DEVICES_PER_REGISTRANT } from "../src/Registrants/PushSubscriptionRepository.js"
import * as Metrics from "../src/Telemetry/Metrics.js"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"
import { type CaptureServer, startCaptureServer } from "./support/CaptureServer.js"

/*
 * The hosted page's push endpoint (/r/push/<page token>) under a flood, against one server, real PostgreSQL and
 * Redis (the rate limiter's store). The attacker holds page tokens of organisation A's bands and posts from a
 * fresh client address each time (the form's limit per address does not stop them): good subscriptions by the
 * dozen through one token, then garbage and good posts through many. Every answer is a typed 4xx, never a
 * 5xx; the table stays bounded (MAX_DEVICES_PER_REGISTRANT a registrant, oldest replaced); A's minute runs
 * out, and organisation B's registrant subscribes right after. Hostile bodies come from a seeded generator:
 * the seed is printed, PUSH_FLOOD_SEED replays it. And what a subscription makes the server dial: its endpoint
 * goes through the outbound policy, so one on a loopback or private address is never reached.
 */

const KEY = `push-flood-test-key-${"k".repeat(24)}`
const PER_BAND = 25
const PER_ORGANIZATION = 60
const tokens = PageToken.make(Buffer.from(KEY), Duration.minutes(30))
const seed = Number(process.env.PUSH_FLOOD_SEED ?? Math.floor(Math.random() * 2 ** 31))
console.log(`Push.flood seed: ${seed} (replay with PUSH_FLOOD_SEED=${seed})`)

/** mulberry32: small, seeded, good enough to pick hostile inputs. */
const random = (() => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
})()
const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]!

const P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
const AUTH = "tBHItJI5svbpez7KI4CCXg"
let ips = 0
/** A client address per post: the attacker's many addresses (TAP_CLIENT_IP_HEADER is x-forwarded-for here). */
const freshIp = () => `10.${(++ips >> 16) & 255}.${(ips >> 8) & 255}.${ips & 255}`

/** A page as its browser holds it: the token, the nonce cookie, the CSRF token made of both. */
interface Page {
  readonly token: string
  readonly cookie: string
  readonly csrf: string
}

const pageOf = (eventId: string, bandUid: string): Page => {
  const token = tokens.mint(eventId, bandUid, Date.now())
  const nonce = randomBytes(16).toString("base64url").slice(0, 22)
  return { token, cookie: `tapline_reg=${nonce}`, csrf: tokens.csrf(token, nonce) }
}

const good = (page: Page, endpoint: string) =>
  JSON.stringify({ csrf: page.csrf, subscription: { endpoint, keys: { p256dh: P256DH, auth: AUTH } } })

/** One hostile body for the page, and what it is (printed when a status surprises). */
const hostile = (page: Page): { readonly what: string; readonly body: string } => {
  const megabyte = "x".repeat(1024 * 1024)
  const control = pick(["\u0000", "\u0007", "\u001b", "\u007f", "\n", "\r\n", "\t", "\u0085"])
  const endpoint = (e: string) => good(page, e)
  const cases: ReadonlyArray<() => { what: string; body: string }> = [
    () => ({ what: "not JSON", body: `{"csrf": ${JSON.stringify(page.csrf)}, "subscription": ` }),
    () => ({ what: "JSON null", body: "null" }),
    () => ({ what: "an array", body: "[1,2,3]" }),
    () => ({
      what: `a control character (${JSON.stringify(control)}) in the endpoint`,
      body: endpoint(`https://push.example/${control}x${Math.floor(random() * 1e9)}`)
    }),
    () => ({ what: "a control character in the host", body: endpoint(`https://pu${control}sh.example/x`) }),
    () => ({ what: "a 1 MB endpoint", body: endpoint(`https://push.example/${megabyte}`) }),
    () => ({
      what: "a 1 MB key",
      body: JSON.stringify({
        csrf: page.csrf,
        subscription: { endpoint: "https://a.example/", keys: { p256dh: megabyte, auth: AUTH } }
      })
    }),
    () => ({ what: "a 1 MB csrf", body: JSON.stringify({ csrf: megabyte, subscription: {} }) }),
    () => ({ what: "an http endpoint", body: endpoint("http://push.example/plain") }),
    () => ({ what: "a javascript: endpoint", body: endpoint("javascript:alert(1)") }),
    () => ({
      what: "keys of the wrong type",
      body: JSON.stringify({
        csrf: page.csrf,
        subscription: { endpoint: "https://a.example/", keys: [P256DH, AUTH] }
      })
    }),
    () => ({
      what: "a key with a NUL",
      body: JSON.stringify({
        csrf: page.csrf,
        subscription: { endpoint: "https://a.example/", keys: { p256dh: `BN\u0000${P256DH}`, auth: AUTH } }
      })
    }),
    () => ({ what: "deeply nested", body: `${"[".repeat(5000)}${"]".repeat(5000)}` }),
    () => ({ what: "a wrong CSRF token", body: JSON.stringify({ csrf: "A".repeat(43), subscription: {} }) }),
    () => ({
      what: "lone surrogates and RTL marks",
      body: endpoint(`https://push.example/\ud800\u202e${Math.floor(random() * 1e9)}`)
    }),
    () => ({
      what: "a good subscription",
      body: endpoint(`https://push.example/flood/${Math.floor(random() * 1e12)}`)
    })
  ]
  return pick(cases)()
}

layer(
  adminHarness({
    REGISTRATION_TOKEN_KEY: KEY,
    REGISTRATION_PUSH_PER_BAND_PER_MINUTE: String(PER_BAND),
    REGISTRATION_PUSH_PER_ORGANIZATION_PER_MINUTE: String(PER_ORGANIZATION)
  }),
  { excludeTestServices: true, timeout: 60_000 }
)("the page's push endpoint under a flood", (it) => {
  /** A tenant's event on the registration page, each band with a registrant; answers the bands' pages. */
  const organization = (admin: string, bands: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      const tenant: Tenant = yield* createTenant(admin)
      const event = yield* liveEvent(tenant, bands, "Flood Fest")
      const key = tenant.keys.EDITOR
      yield* ok(
        yield* call("PATCH", `${event.base}/windows/${event.windowId}`, {
          key,
          body: { destination: "REGISTRATION_PAGE" }
        }),
        200
      )
      const listed = yield* ok(
        yield* call("GET", `/api/v1/organizations/${tenant.orgId}/bands?eventId=${event.eventId}&limit=100`, {
          key
        }),
        200
      )
      for (const band of listed.body.items as ReadonlyArray<{ id: string }>)
        yield* ok(
          yield* call("POST", `/api/v1/organizations/${tenant.orgId}/registrants`, {
            key,
            body: { bandId: band.id, name: "Pat" }
          }),
          201
        )
      return { tenant, pages: bands.map((uid) => pageOf(event.eventId, uid)) }
    })

  const post = (page: Page, body: string) =>
    Effect.flatMap(AdminServer, ({ url }) =>
      Effect.promise(async () => {
        const response = await fetch(`${url}/r/push/${page.token}`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-forwarded-for": freshIp(),
            origin: url,
            cookie: page.cookie
          },
          body
        })
        const text = await response.text()
        return { status: response.status, text, retryAfter: response.headers.get("retry-after") }
      })
    )

  it.effect(
    "one organisation's flood: 4xx only, devices bounded, its minute spent; another's goes through",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const admin = yield* bootstrapKey()
        const a = yield* organization(
          admin,
          Array.from({ length: 9 }, (_, i) => `FLA-${process.pid}-${i}`)
        )
        const b = yield* organization(admin, [`FLB-${process.pid}-0`])
        const devicesOf = (orgId: string) =>
          sql<{ registrantId: string; address: string }>`
          select registrant_id, address from registrant_push_subscriptions
          where organization_id = ${orgId} order by created_at, id`

        // One token, 40 distinct good subscriptions: PER_BAND go in, the registrant keeps the newest
        // MAX_DEVICES_PER_REGISTRANT, the rest are 429 with a Retry-After.
        const first = a.pages[0]!
        const statuses: Array<number> = []
        for (let i = 0; i < 40; i++) {
          const reply = yield* post(first, good(first, `https://push.example/one/${i}`))
          statuses.push(reply.status)
          if (reply.status === 429) {
            expect(reply.text).toContain("too many subscriptions from this page")
            expect(Number(reply.retryAfter)).toBeGreaterThan(0)
          }
        }
        expect(statuses).toEqual([...Array(PER_BAND).fill(201), ...Array(40 - PER_BAND).fill(429)])
        expect((yield* devicesOf(a.tenant.orgId)).map((d) => d.address)).toEqual(
          Array.from(
            { length: MAX_DEVICES_PER_REGISTRANT },
            (_, i) => `https://push.example/one/${PER_BAND - MAX_DEVICES_PER_REGISTRANT + i}`
          )
        )

        // Every token of A, hostile and good bodies, 8 at a time: never a 5xx; the organisation's minute runs out.
        const flood = Array.from({ length: 240 }, (_, i) => {
          const page = a.pages[1 + (i % 8)]!
          return { page, ...hostile(page) }
        })
        const replies = yield* Effect.forEach(
          flood,
          (f) => Effect.map(post(f.page, f.body), (reply) => ({ what: f.what, ...reply })),
          { concurrency: 8 }
        )
        const unexpected = replies.filter((r) => ![201, 400, 403, 413, 429].includes(r.status))
        expect(unexpected.map((r) => `${r.what}: ${r.status} ${r.text.slice(0, 200)}`)).toEqual([])
        for (const r of replies) {
          if (r.status !== 201) expect(JSON.parse(r.text)._tag).toMatch(/^[A-Z][A-Za-z]+$/)
          // A control character or a lone surrogate is never stored.
          if (r.status === 201) expect(r.what).toMatch(/good subscription|lone surrogates/)
        }
        expect(replies.some((r) => r.text.includes("too many subscriptions for this organisation"))).toBe(
          true
        )
        const stored = yield* devicesOf(a.tenant.orgId)
        const perRegistrant = new Map<string, number>()
        for (const d of stored)
          perRegistrant.set(d.registrantId, (perRegistrant.get(d.registrantId) ?? 0) + 1)
        expect(Math.max(...perRegistrant.values())).toBeLessThanOrEqual(MAX_DEVICES_PER_REGISTRANT)
        // The organisation's minute: PER_BAND went through the first token, the rest of PER_ORGANIZATION here.
        expect(replies.filter((r) => r.status === 201).length).toBeLessThanOrEqual(
          PER_ORGANIZATION - PER_BAND
        )
        expect(stored.some((d) => hasControlCharacters(d.address))).toBe(false)

        // Tokens that are not A's to hold: refused by their own check, typed, before any limit or query.
        const [eventId, bandUid] = a.pages[1]!.token.split(".") as [string, string]
        const bad = [
          { ...a.pages[1]!, token: `${a.pages[1]!.token.slice(0, -4)}AAAA` },
          { ...a.pages[1]!, token: tokens.mint(eventId, bandUid, Date.now() - 3_600_000) },
          { ...a.pages[1]!, token: `%00%ff${"x".repeat(3000)}` }
        ]
        const refusedTokens = yield* Effect.forEach(bad, (page) =>
          post(page, good(page, "https://push.example/t"))
        )
        // The last never reaches the route: a NUL in the path matches no route (404).
        expect(refusedTokens.map((r) => r.status)).toEqual([403, 410, 404])

        // A's minute is spent for every band of A, even one that has not posted yet…
        const late = yield* post(a.pages[1]!, good(a.pages[1]!, "https://push.example/late"))
        expect(late.status).toBe(429)
        // …while B's registrant subscribes right after.
        const theirs = b.pages[0]!
        const reply = yield* post(theirs, good(theirs, `https://push.example/b/${process.pid}`))
        expect(reply.status).toBe(201)
        expect((yield* devicesOf(b.tenant.orgId)).map((d) => d.address)).toEqual([
          `https://push.example/b/${process.pid}`
        ])
      })
  )

  it.effect("the admin API: a control character in an endpoint is a 400; past the cap the oldest goes", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      const { tenant } = yield* organization(admin, [`FLC-${process.pid}-0`])
      const key = tenant.keys.EDITOR
      const registrants = yield* ok(
        yield* call("GET", `/api/v1/organizations/${tenant.orgId}/registrants?limit=10`, { key }),
        200
      )
      const devices = `/api/v1/organizations/${tenant.orgId}/registrants/${registrants.body.items[0].id}/push-subscriptions`
      for (const control of ["\u0000", "\u0007", "\u007f"]) {
        const reply = yield* call("POST", devices, {
          key,
          body: {
            kind: "webpush",
            endpoint: `https://push.example/${control}`,
            keys: { p256dh: P256DH, auth: AUTH }
          }
        })
        expect({ control, status: reply.status }).toEqual({ control, status: 400 })
      }
      const tokensAdded = Array.from(
        { length: MAX_DEVICES_PER_REGISTRANT + 3 },
        (_, i) => `fcm-cap-token-${i}`
      )
      for (const token of tokensAdded)
        yield* ok(yield* call("POST", devices, { key, body: { kind: "fcm", token } }), 201)
      const listed = yield* ok(yield* call("GET", devices, { key }), 200)
      expect(listed.body.items.map((d: { address: string }) => d.address)).toEqual(tokensAdded.slice(3))
    })
  )
})

describe("a subscription's endpoint is a stranger's URL", () => {
  const vapid = WebPush.generateVapidKeys()
  const pushWith = (env: Record<string, string>) =>
    Effect.flatMap(Push, (push) => push.send(message)).pipe(
      Effect.either,
      Effect.provide(
        PushProviders.layerConfig.pipe(Layer.provide(Metrics.layer), Layer.provideMerge(AppConfig.layer))
      ),
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map(
            Object.entries({
              PUSH_PROVIDERS: "webpush",
              PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
              PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
              PUSH_VAPID_SUBJECT: "mailto:ops@tapline.test",
              ...env
            })
          )
        )
      ),
      Effect.scoped
    )
  let peer: CaptureServer
  let message: PushMessage

  it.scoped(
    "one on a loopback or private address is never dialled: gone (removed), unless OUTBOUND_ALLOW names it",
    () =>
      Effect.gen(function* () {
        peer = yield* Effect.promise(() => startCaptureServer())
        yield* Effect.addFinalizer(() => Effect.promise(() => peer.close()))
        peer.fallback = () => ({ status: 201, headers: { location: "/m/1" } })
        message = {
          id: "0f8fad5b-d9cb-469f-a165-70867728950e",
          title: "Doors open",
          body: "Stage B",
          subscription: {
            kind: "webpush",
            endpoint: `${peer.url}/send/internal`,
            keys: { p256dh: P256DH, auth: AUTH }
          }
        }
        const refused = yield* pushWith({})
        expect(refused._tag).toBe("Left")
        if (refused._tag === "Left") {
          expect(refused.left.failure).toBe("gone")
          expect(refused.left.message).toContain("OUTBOUND_ALLOW")
        }
        expect(peer.requests).toHaveLength(0)
        const allowed = yield* pushWith({ OUTBOUND_ALLOW: "127.0.0.1" })
        expect(allowed._tag).toBe("Right")
        expect(peer.requests.map((r) => r.url)).toEqual(["/send/internal"])
      })
  )
})
