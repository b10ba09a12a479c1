import { createECDH } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { keepOnLoopback, launchChromium } from "@tapline/testing/browser"
import { freePort } from "@tapline/testing/ports"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Duration, Effect } from "effect"
import type { Browser } from "playwright-core"
import * as PageToken from "../src/Crypto/PageToken.js"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { PHONE } from "./support/ConsoleBrowser.js"

/*
 * The registration page Tapline hosts, against one server, real PostgreSQL, Redis, the SMTP peer and headless
 * Chromium at 390×844: a tap of a band in a REGISTRATION_PAGE window → 302 to the page with its token → the
 * form, found by its labels → the confirmation mail → its link → the email consent recorded. Refusals (token,
 * CSRF, rate limit, hostile input) are checked with plain requests: each must be a clear 4xx page.
 */

const port = await freePort()
const origin = `http://localhost:${port}`
const KEY = `registration-test-key-${"k".repeat(24)}`
const LIMIT = 5
/** The VAPID public key the page subscribes with: a real P-256 point, as PUSH_VAPID_PUBLIC_KEY carries it. */
const VAPID_PUBLIC_KEY = (() => {
  const ecdh = createECDH("prime256v1")
  ecdh.generateKeys()
  return ecdh.getPublicKey().toString("base64url")
})()
const smtp = await startSmtpPeer()
const browser: Browser = await launchChromium()

afterAll(async () => {
  await browser.close()
  await smtp.stop()
})

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** The mails to `to` once there are `n` of them (the job queue sends them off the request). */
const mailsTo = (to: string, n: number) =>
  promise(async () => {
    const deadline = Date.now() + 20_000
    for (;;) {
      const mails = smtp.received.filter((m) => JSON.stringify(m.to ?? "").includes(to))
      if (mails.length >= n) return mails.map((m) => m.text ?? "")
      if (Date.now() > deadline) throw new Error(`${n} mails to ${to} did not arrive`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

/** The tap: /e answers 302 to the page with a token for the band. */
const tap = (eventId: string, bandUid: string) =>
  promise(async () => {
    const response = await fetch(`${origin}/e?bandId=${bandUid}&eventId=${eventId}`, { redirect: "manual" })
    return { status: response.status, location: response.headers.get("location") ?? "" }
  })

/** The page as a plain client gets it: its cookie and the form's CSRF token. */
const openForm = (location: string, ip: string) =>
  promise(async () => {
    const response = await fetch(location, { headers: { "x-forwarded-for": ip } })
    const html = await response.text()
    const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0]!
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? ""
    return { status: response.status, html, cookie, csrf }
  })

const post = (
  location: string,
  body: string,
  options: { readonly ip: string; readonly cookie?: string; readonly headers?: Record<string, string> }
) =>
  promise(async () => {
    const response = await fetch(location, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-forwarded-for": options.ip,
        origin,
        ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
        ...options.headers
      },
      body
    })
    return { status: response.status, html: await response.text() }
  })

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

let tenant: Tenant
let eventId: string
let ips = 0
/** A client address of its own for each part: the rate limit counts per address. */
const freshIp = () => `198.51.100.${++ips}`

layer(
  adminHarness({
    PORT: String(port),
    PUBLIC_URL: origin,
    EMAIL_PROVIDER: "smtp",
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    EMAIL_RETRY_DELAY_SECONDS: "1",
    REGISTRATION_TOKEN_KEY: KEY,
    REGISTRATION_RATE_LIMIT_PER_MINUTE: String(LIMIT),
    JOURNEY_POLL_INTERVAL: "100 millis",
    PUSH_VAPID_PUBLIC_KEY: VAPID_PUBLIC_KEY
  }),
  { excludeTestServices: true, timeout: 120_000 }
)("the registration page", (it) => {
  const bands = Array.from({ length: 8 }, (_, i) => `REG-${process.pid}-${i}`)

  /** One tenant and event for the file: a LIVE window around now, switched to the page through the Windows API. */
  const setUp = Effect.gen(function* () {
    if (tenant !== undefined) return
    tenant = yield* createTenant(yield* bootstrapKey())
    const event = yield* liveEvent(tenant, bands, "Summer Night")
    eventId = event.eventId
    const patched = yield* ok(
      yield* call("PATCH", `${event.base}/windows/${event.windowId}`, {
        key: tenant.keys.EDITOR,
        body: { destination: "REGISTRATION_PAGE" }
      }),
      200
    )
    expect(patched.body.destination).toBe("REGISTRATION_PAGE")
    const sql = yield* SqlClient.SqlClient
    yield* sql`update organizations set branding = '{"primaryColor":"#aa0055"}' where id = ${tenant.orgId}`
  })

  it.effect(
    "tap → page → form → confirmation mail → link → email consent recorded; push permission asked",
    () =>
      Effect.gen(function* () {
        yield* setUp
        const sql = yield* SqlClient.SqlClient
        const email = `zoe-${process.pid}@example.com`
        const { status, location } = yield* tap(eventId, bands[0]!)
        expect(status).toBe(302)
        expect(location.startsWith(`${origin}/r/${eventId}.${bands[0]}.`)).toBe(true)

        // A "registration received" journey: the page's registration fires it as the API's does.
        yield* ok(
          yield* call("POST", `/api/v1/organizations/${tenant.orgId}/journeys`, {
            key: tenant.keys.EDITOR,
            body: {
              eventId,
              name: "Welcome",
              trigger: { _tag: "registration" },
              subject: "Welcome, {{name}}",
              body: "See you at {{event}}"
            }
          }),
          201
        )

        const context = yield* promise(() =>
          browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true })
        )
        // Instrumented before any page script runs: the request for permission is what is asserted.
        yield* promise(() =>
          context.addInitScript({
            content: `
              window.asked = []
              Object.defineProperty(Notification, "permission", { get: () => "default" })
              Notification.requestPermission = () => {
                window.asked.push("notifications")
                return Promise.resolve("denied")
              }`
          })
        )
        const page = yield* promise(() => context.newPage())
        yield* promise(() => keepOnLoopback(page))
        yield* promise(() => page.goto(location))
        expect(yield* promise(() => page.getAttribute("html", "lang"))).toBe("en")
        expect(
          yield* promise(() =>
            page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
          )
        ).toBe("rgb(170, 0, 85)")
        // Focus moves through the form in reading order.
        const order: Array<string> = []
        for (let i = 0; i < 5; i++) {
          yield* promise(() => page.keyboard.press("Tab"))
          order.push(
            yield* promise(() => page.evaluate<string>("document.activeElement?.getAttribute('name') ?? ''"))
          )
        }
        expect(order).toEqual(["name", "email", "phone", "emailConsent", ""])

        yield* promise(() => page.getByLabel("Your name").fill("Zoë 王小明 O'Brien"))
        yield* promise(() => page.getByLabel("Email", { exact: true }).fill(email))
        yield* promise(() => page.getByLabel("Mobile phone (optional)").fill("+44 7911 123456"))
        yield* promise(() => page.getByLabel(/Email me about Summer Night/).check())
        yield* promise(() => page.getByRole("button", { name: "Register" }).click())
        yield* promise(() => page.getByRole("heading", { name: "You are registered" }).waitFor())

        const [registrant] = yield* sql<{ id: string; name: string; phone: string; source: string }>`
        select r.id, r.name, r.phone, r.source from registrants r join bands b on b.id = r.band_id
        where b.band_uid = ${bands[0]!} and b.event_id = ${eventId}`
        expect(registrant).toMatchObject({
          name: "Zoë 王小明 O'Brien",
          phone: "+447911123456",
          source: "page"
        })
        // Pending: nothing a journey could read as consent.
        const before = yield* sql`select 1 from registrant_consents where registrant_id = ${registrant!.id}`
        expect(before).toHaveLength(0)

        // The journey fired for the band, and found no consent to use: the address is not confirmed yet.
        const deadline = Date.now() + 20_000
        let message: { status: string; reason: string | null } | undefined
        while (message?.status !== "skipped" && Date.now() < deadline) {
          ;[message] = yield* sql<{ status: string; reason: string | null }>`
          select m.status, m.reason from journey_messages m join bands b on b.id = m.band_id
          where b.band_uid = ${bands[0]!} and b.event_id = ${eventId}`
          yield* Effect.sleep("100 millis")
        }
        expect(message).toEqual({ status: "skipped", reason: "no_consent" })

        // Notifications: offered where the browser has them, asked on the tap of the button.
        yield* promise(() => page.getByRole("button", { name: "Turn on notifications" }).click())
        yield* promise(() => page.getByText("Notifications stay off.").waitFor())
        expect(yield* promise(() => page.evaluate("window.asked"))).toEqual(["notifications"])

        const [mail] = yield* mailsTo(email, 1)
        expect(smtp.received.filter((m) => m.subject?.startsWith("Welcome"))).toHaveLength(0)
        const link = new RegExp(`(${origin}/r/confirm/tlc_[\\w-]+)`).exec(mail!)![1]!
        yield* promise(() => page.goto(link))
        // Opening the link (as a mail scanner would) records nothing: the button does.
        expect(
          yield* sql`select 1 from registrant_consents where registrant_id = ${registrant!.id}`
        ).toHaveLength(0)
        yield* promise(() => page.getByRole("button", { name: "Confirm my email" }).click())
        yield* promise(() => page.getByRole("heading", { name: "Email confirmed" }).waitFor())
        const consents = yield* sql<{ channel: string; granted: boolean; source: string; wording: string }>`
        select channel, granted, source, wording from registrant_consents where registrant_id = ${registrant!.id}`
        expect(consents).toHaveLength(1)
        expect(consents[0]).toMatchObject({ channel: "email", granted: true, source: "page" })
        expect(consents[0]!.wording).toContain("Email me about Summer Night")
        // The journey skipped while the address waited for this goes out now: once, to the confirmed address.
        const [, welcome] = yield* mailsTo(email, 2)
        expect(welcome).toContain("See you at Summer Night")
        const sent = yield* sql<{ status: string; attempts: number }>`
        select m.status, m.attempts from journey_messages m join bands b on b.id = m.band_id
        where b.band_uid = ${bands[0]!} and b.event_id = ${eventId}`
        expect(sent).toEqual([{ status: "sent", attempts: 1 }])
        yield* promise(() => context.close())

        // Registering the band again with another address: the old address's consent is withdrawn, the new one
        // is asked to confirm.
        const again = yield* tap(eventId, bands[0]!)
        const ip = freshIp()
        const opened = yield* openForm(again.location, ip)
        const other = `zoe-new-${process.pid}@example.com`
        const reply = yield* post(
          again.location,
          form({ csrf: opened.csrf, name: "Zoë", email: other, emailConsent: "yes" }),
          { ip, cookie: opened.cookie }
        )
        expect(reply.status).toBe(200)
        const [latest] = yield* sql<{ granted: boolean }>`
        select granted from registrant_consents where registrant_id = ${registrant!.id} and channel = 'email'
        order by seq desc limit 1`
        expect(latest?.granted).toBe(false)
        yield* mailsTo(other, 1)
      }),
    120_000
  )

  it.effect("a missing, forged or expired token gets a clear page, 4xx", () =>
    Effect.gen(function* () {
      yield* setUp
      const { location } = yield* tap(eventId, bands[1]!)
      const token = location.slice(`${origin}/r/`.length)
      const [event, uid, expiry, mac] = token.split(".") as [string, string, string, string]
      const expired = PageToken.make(Buffer.from(KEY), Duration.minutes(30)).mint(
        event,
        uid,
        Date.now() - 3_600_000
      )
      const cases: ReadonlyArray<[string, number, string]> = [
        [`${origin}/r/`, 400, "tap it again"],
        [`${origin}/r/${event}.${bands[2]}.${expiry}.${mac}`, 403, "not valid"],
        [`${origin}/r/${event}.${uid}.${expiry}.${"A".repeat(32)}`, 403, "not valid"],
        [`${origin}/r/${expired}`, 410, "expired"],
        [`${origin}/r/x%00`, 400, "not a registration link"]
      ]
      for (const [url, status, text] of cases) {
        const response = yield* promise(() => fetch(url))
        expect({ url, status: response.status }).toEqual({ url, status })
        expect(response.headers.get("content-type")).toContain("text/html")
        expect(yield* promise(() => response.text())).toContain(text)
      }
      // A path the router cannot decode is no route: 404, not a 5xx.
      expect((yield* promise(() => fetch(`${origin}/r/x%ff`))).status).toBe(404)
      // A forged token cannot post either.
      const forged = yield* post(`${origin}/r/${event}.${bands[2]}.${expiry}.${mac}`, form({ name: "x" }), {
        ip: freshIp()
      })
      expect(forged.status).toBe(403)
    })
  )

  it.effect(
    "CSRF: a post without the page's cookie, with another token, or from another site is refused",
    () =>
      Effect.gen(function* () {
        yield* setUp
        const sql = yield* SqlClient.SqlClient
        const { location } = yield* tap(eventId, bands[3]!)
        const ip = freshIp()
        const opened = yield* openForm(location, ip)
        expect(opened.csrf).not.toBe("")
        const fields = { csrf: opened.csrf, name: "Mallory", email: "mallory@example.com" }
        const refused = [
          yield* post(location, form(fields), { ip }),
          yield* post(location, form({ ...fields, csrf: "A".repeat(32) }), { ip, cookie: opened.cookie }),
          yield* post(location, form(fields), {
            ip,
            cookie: opened.cookie,
            headers: { origin: "https://evil.example" }
          }),
          yield* post(location, form(fields), {
            ip,
            cookie: opened.cookie,
            headers: { "sec-fetch-site": "cross-site" }
          })
        ]
        expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403])
        expect(refused[0]!.html).toContain("only be sent from its own page")
        const stored = yield* sql`
        select 1 from registrants r join bands b on b.id = r.band_id where b.band_uid = ${bands[3]!}`
        expect(stored).toHaveLength(0)
        // The same post from the page itself goes through.
        expect((yield* post(location, form(fields), { ip, cookie: opened.cookie })).status).toBe(200)
      })
  )

  it.effect("form posts are limited per client address, on every instance (Redis)", () =>
    Effect.gen(function* () {
      yield* setUp
      const { location } = yield* tap(eventId, bands[4]!)
      const ip = freshIp()
      const opened = yield* openForm(location, ip)
      const bad = form({ csrf: opened.csrf, name: "", email: "not-an-address" })
      const statuses: Array<number> = []
      for (let i = 0; i <= LIMIT; i++)
        statuses.push((yield* post(location, bad, { ip, cookie: opened.cookie })).status)
      expect(statuses).toEqual([...Array(LIMIT).fill(400), 429])
      // Another address is not held back.
      expect((yield* post(location, bad, { ip: freshIp(), cookie: opened.cookie })).status).toBe(400)
    })
  )

  it.effect("hostile input gets a clear 4xx or is stored as given, never a 5xx", () =>
    Effect.gen(function* () {
      yield* setUp
      const sql = yield* SqlClient.SqlClient
      const { location } = yield* tap(eventId, bands[5]!)
      const attempt = (body: string) =>
        Effect.gen(function* () {
          const ip = freshIp()
          const opened = yield* openForm(location, ip)
          return yield* post(location, body.replace("CSRF", encodeURIComponent(opened.csrf)), {
            ip,
            cookie: opened.cookie
          })
        })
      const email = "eve@example.com"
      const cases: ReadonlyArray<[string, string, number]> = [
        ["a control character in the name", `csrf=CSRF&name=Eve%07&email=${email}`, 400],
        ["NUL in the name", `csrf=CSRF&name=E%00ve&email=${email}`, 400],
        [
          "a header injection in the email",
          `csrf=CSRF&name=Eve&email=${encodeURIComponent(`${email}\r\nBcc: x@y.z`)}`,
          400
        ],
        ["a field given twice", `csrf=CSRF&name=Eve&name=Mallory&email=${email}`, 400],
        ["a name of 201 characters", `csrf=CSRF&name=${"e".repeat(201)}&email=${email}`, 400],
        ["a phone that is not one", `csrf=CSRF&name=Eve&email=${email}&phone=%2B1%20000`, 400],
        ["1 MB of name", `csrf=CSRF&name=${"e".repeat(1024 * 1024)}&email=${email}`, 413]
      ]
      for (const [what, body, status] of cases) {
        const reply = yield* attempt(body)
        expect({ what, status: reply.status }).toEqual({ what, status })
        if (status === 400) expect(reply.html).toMatch(/Please check the form|could not be read|given twice/)
      }
      expect(
        yield* sql`select 1 from registrants r join bands b on b.id = r.band_id where b.band_uid = ${bands[5]!}`
      ).toHaveLength(0)
      // Names outside Latin-1 and markup are stored as given and shown escaped.
      const name = "<b>Ωmega</b> 🎉 Дмитрий"
      const stored = yield* attempt(`csrf=CSRF&name=${encodeURIComponent(name)}&email=${email}`)
      expect(stored.status).toBe(200)
      const [row] = yield* sql<{ name: string }>`
        select r.name from registrants r join bands b on b.id = r.band_id where b.band_uid = ${bands[5]!}`
      expect(row?.name).toBe(name)
    })
  )
  /** A band registered through the page by a plain client: its page, cookie and the push offer's CSRF token. */
  const registered = (uid: string) =>
    Effect.gen(function* () {
      const { location } = yield* tap(eventId, uid)
      const ip = freshIp()
      const opened = yield* openForm(location, ip)
      const reply = yield* post(
        location,
        form({ csrf: opened.csrf, name: "Pat", email: `pat-${uid}@example.com` }),
        {
          ip,
          cookie: opened.cookie
        }
      )
      expect(reply.status).toBe(200)
      const csrf = /data-csrf="([^"]+)"/.exec(reply.html)?.[1] ?? ""
      expect(reply.html).toContain(`data-key="${VAPID_PUBLIC_KEY}"`)
      return { location, ip, cookie: opened.cookie, csrf, token: location.slice(`${origin}/r/`.length) }
    })

  it.effect(
    "notifications on: the service worker at /r/, the subscription stored as a device with push consent",
    () =>
      Effect.gen(function* () {
        yield* setUp
        const sql = yield* SqlClient.SqlClient
        const { location } = yield* tap(eventId, bands[6]!)
        const context = yield* promise(() =>
          browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true })
        )
        // Headless Chromium has no push service: PushManager.subscribe is replaced, by page script, with one
        // answering a fixed subscription (what a browser's would look like). Everything else is the browser's:
        // the permission prompt's answer, the service worker's registration, the page's fetch with its cookie.
        yield* promise(() =>
          context.addInitScript({
            content: `
              Object.defineProperty(Notification, "permission", { get: () => "default", configurable: true })
              Notification.requestPermission = () => Promise.resolve("granted")
              PushManager.prototype.subscribe = function (options) {
                window.subscribedWith = options.applicationServerKey.byteLength
                return Promise.resolve({ toJSON: () => ({
                  endpoint: "https://push.example.test/send/${bands[6]}",
                  expirationTime: null,
                  keys: { p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u", auth: "tBHItJI5svbpez7KI4CCXg" }
                }) })
              }`
          })
        )
        const page = yield* promise(() => context.newPage())
        yield* promise(() => keepOnLoopback(page))
        yield* promise(() => page.goto(location))
        yield* promise(() => page.getByLabel("Your name").fill("Sam"))
        yield* promise(() => page.getByLabel("Email", { exact: true }).fill(`sam-${process.pid}@example.com`))
        yield* promise(() => page.getByRole("button", { name: "Register" }).click())
        yield* promise(() => page.getByRole("heading", { name: "You are registered" }).waitFor())
        yield* promise(() => page.getByRole("button", { name: "Turn on notifications" }).click())
        yield* promise(() => page.getByText("Notifications are on.").waitFor())
        // The key the page subscribed with is the configured one (65 bytes: an uncompressed P-256 point).
        expect(yield* promise(() => page.evaluate("window.subscribedWith"))).toBe(65)
        const scope = yield* promise(() =>
          page.evaluate<string>("navigator.serviceWorker.getRegistration('/r/').then((r) => r?.scope ?? '')")
        )
        expect(scope).toBe(`${origin}/r/`)
        const devices = yield* sql<{ kind: string; address: string; auth: string }>`
          select s.kind, s.address, s.auth from registrant_push_subscriptions s
          join registrants r on r.id = s.registrant_id join bands b on b.id = r.band_id
          where b.band_uid = ${bands[6]!} and b.event_id = ${eventId}`
        expect(devices).toEqual([
          {
            kind: "webpush",
            address: `https://push.example.test/send/${bands[6]}`,
            auth: "tBHItJI5svbpez7KI4CCXg"
          }
        ])
        const consents = yield* sql<{ channel: string; granted: boolean; source: string; wording: string }>`
          select c.channel, c.granted, c.source, c.wording from registrant_consents c
          join registrants r on r.id = c.registrant_id join bands b on b.id = r.band_id
          where b.band_uid = ${bands[6]!} and b.event_id = ${eventId}`
        expect(consents).toHaveLength(1)
        expect(consents[0]).toMatchObject({ channel: "push", granted: true, source: "page" })
        expect(consents[0]!.wording).toContain("notifications about Summer Night")
        // The worker is ours, served with the page's headers.
        const worker = yield* promise(() => fetch(`${origin}/r/sw.js`))
        expect(worker.headers.get("content-type")).toContain("javascript")
        expect(yield* promise(() => worker.text())).toContain("notificationclick")
        yield* promise(() => context.close())
      }),
    60_000
  )

  it.effect(
    "the push endpoint refuses: bad JSON, another origin, no or a wrong CSRF token, an expired token, 1 MB",
    () =>
      Effect.gen(function* () {
        yield* setUp
        const sql = yield* SqlClient.SqlClient
        const page = yield* registered(bands[7]!)
        const subscription = {
          endpoint: "https://push.example.test/send/refusals",
          keys: { p256dh: "BNcRdreALRFXTkOOUHK1", auth: "tBHItJI5svbpez7KI4CCXg" }
        }
        const push = (
          body: string,
          options: { token?: string; cookie?: string | null; headers?: Record<string, string> } = {}
        ) =>
          promise(async () => {
            const response = await fetch(`${origin}/r/push/${options.token ?? page.token}`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                // An address per post: the form's rate limit (LIMIT a minute) counts these too.
                "x-forwarded-for": freshIp(),
                origin,
                ...(options.cookie === null ? {} : { cookie: options.cookie ?? page.cookie }),
                ...options.headers
              },
              body
            })
            return { status: response.status, body: await response.text() }
          })
        const good = JSON.stringify({ csrf: page.csrf, subscription })
        const [event, uid] = page.token.split(".") as [string, string]
        const expired = PageToken.make(Buffer.from(KEY), Duration.minutes(30)).mint(
          event,
          uid,
          Date.now() - 3_600_000
        )
        const refused = [
          yield* push("{not json"),
          yield* push(
            JSON.stringify({
              csrf: page.csrf,
              subscription: { ...subscription, endpoint: "http://plain.example/x" }
            })
          ),
          yield* push(good, { headers: { origin: "https://evil.example" } }),
          yield* push(good, { headers: { "sec-fetch-site": "cross-site" } }),
          yield* push(good, { cookie: null }),
          yield* push(JSON.stringify({ csrf: "A".repeat(43), subscription })),
          yield* push(good, { token: expired }),
          yield* push(JSON.stringify({ csrf: page.csrf, subscription, pad: "x".repeat(1024 * 1024) }))
        ]
        expect(refused.map((r) => r.status)).toEqual([400, 400, 403, 403, 403, 403, 410, 413])
        for (const r of refused) expect(r.body).not.toContain(page.csrf)
        const stored = () =>
          sql`select 1 from registrant_push_subscriptions where address = ${subscription.endpoint}`
        expect(yield* stored()).toHaveLength(0)
        // The same post from the page goes through, once however often it is sent.
        expect((yield* push(good)).status).toBe(201)
        expect((yield* push(good)).status).toBe(201)
        expect(yield* stored()).toHaveLength(1)
      })
  )
})
