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
    JOURNEY_POLL_INTERVAL: "100 millis"
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
})
