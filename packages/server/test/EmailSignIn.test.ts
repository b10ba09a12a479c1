import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Cause, Effect, HashMap, Layer, Logger, LogLevel } from "effect"
import type { ParsedMail } from "mailparser"
import { Sessions } from "../src/Auth/Sessions.js"
import { bootstrapKey, call, createTenant, type Reply } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"

/*
 * Email sign-in end to end (DESIGN.md §6): the request enqueues a mail that the SMTP provider delivers to a
 * real SMTP server in this process; the test reads the link and the code from it, as the person would, and
 * signs in with them. Every log line the server writes, at every level, is kept and scanned for the
 * link tokens and codes at the end.
 */

const smtp = await startSmtpPeer()
afterAll(() => smtp.stop())

const logs: Array<string> = []
const collect = Logger.make(({ annotations, cause, message }) => {
  logs.push(
    JSON.stringify({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }) +
      (Cause.isEmpty(cause) ? "" : Cause.pretty(cause))
  )
})
/** Every token and code the mails carried, looked for in the logs by the last test. */
const secrets: Array<string> = []

const unique = (name: string) =>
  `${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.com`
/** Each test signs in from its own address, so the per-IP limits of one do not reach another. */
let ips = 0
const newIp = () => {
  ips++
  return `198.51.${100 + Math.floor(ips / 250)}.${(ips % 250) + 1}`
}

const ask = (email: unknown, ip: string) =>
  call("POST", "/api/v1/auth/email", { body: { email }, headers: { "x-forwarded-for": ip } })
const withLink = (token: string, ip: string, transport = "bearer") =>
  call("POST", "/api/v1/auth/email/link", { body: { token, transport }, headers: { "x-forwarded-for": ip } })
const withCode = (email: string, code: string, ip: string, transport = "bearer") =>
  call("POST", "/api/v1/auth/email/code", {
    body: { email, code, transport },
    headers: { "x-forwarded-for": ip }
  })

const mailsTo = (address: string) =>
  smtp.received.filter((m) =>
    JSON.stringify(m.to ?? "")
      .toLowerCase()
      .includes(address.toLowerCase())
  )

/** The `n`th mail (1-based) to `address`, once it has arrived. */
const nthMail = (address: string, n: number) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 20_000
    for (;;) {
      const mails = mailsTo(address)
      if (mails.length >= n) return mails[n - 1]!
      if (Date.now() > deadline) throw new Error(`mail ${n} to ${address} did not arrive`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

/** The link's token and the code, read from the mail's text as a person reads them. */
const credentialsOf = (mail: ParsedMail) => {
  const text = mail.text ?? ""
  const link = /https:\/\/console\.tapline\.test\/sign-in#email_token=(tle_[A-Za-z0-9_-]+)/.exec(text)
  const code = /: (\d{6})\s*$/m.exec(text)
  if (link === null || code === null) throw new Error(`no link or code in: ${text}`)
  secrets.push(link[1]!, code[1]!)
  expect(mail.html).toContain(`#email_token=${link[1]}`)
  return { link: link[0], token: link[1]!, code: code[1]! }
}

const mailed = (address: string, n = 1) => Effect.map(nthMail(address, n), credentialsOf)

const newUser = (email: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [user] = yield* sql<{
      id: UserId
    }>`insert into users (email, name) values (${email}, 'U') returning id`
    return user!.id
  }).pipe(Effect.orDie)

const usersWith = (email: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ n: number }>`select count(*)::int as n from users where lower(email) = lower(${email})`,
      (rows) => rows[0]!.n
    )
  ).pipe(Effect.orDie)

/** A different six-digit code. */
const wrongCode = (code: string, i: number) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, "0")

const cookieHeader = (reply: Reply) =>
  reply.headers
    .getSetCookie()
    .map((c) => c.split(";")[0]!)
    .join("; ")

const env = {
  EMAIL_PROVIDER: "smtp",
  SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
  EMAIL_FROM: "Tapline <sign-in@tapline.test>",
  PUBLIC_URL: "https://console.tapline.test",
  EMAIL_RETRY_DELAY_SECONDS: "1",
  EMAIL_RETRY_LIMIT: "10",
  AUTH_EMAIL_SIGN_INS_PER_HOUR: "3",
  SESSION_COOKIE_SECURE: "false"
}

const harness = (extra: Record<string, string> = {}) =>
  adminHarness({ ...env, ...extra }, { logLevel: LogLevel.All }).pipe(
    Layer.provide(Logger.replace(Logger.defaultLogger, collect))
  )

layer(harness(), { excludeTestServices: true, timeout: 120_000 })("email sign-in", (it) => {
  it.effect("the link from the mail opens a browser session that calls an authenticated route, once", () =>
    Effect.gen(function* () {
      const ip = newIp()
      const email = unique("ana")
      const userId = yield* newUser(email)
      const asked = yield* ask(email.toUpperCase(), ip)
      expect(asked.status).toBe(202)
      const mail = yield* nthMail(email, 1)
      expect(mail.from?.text).toContain("sign-in@tapline.test")
      const { link, token, code } = credentialsOf(mail)

      // Following the link opens the sign-in page; its script posts the token from the fragment.
      const server = yield* AdminServer
      const page = yield* Effect.promise(() =>
        fetch(link.replace("https://console.tapline.test", server.url)).then((r) => r.text())
      )
      expect(page).toContain('id="email-sign-in"')
      const signedIn = yield* withLink(token, ip, "cookie")
      expect(signedIn.status).toBe(200)
      expect(signedIn.body.accessToken).toBeUndefined()
      const cookies = cookieHeader(signedIn)
      expect(cookies).toContain("tapline_session=tls_")
      const me = yield* call("GET", "/api/v1/me", { headers: { cookie: cookies } })
      expect(me.status).toBe(200)
      expect(me.body.userId).toBe(userId)

      // Once: neither the link nor the code of the same mail works again.
      expect((yield* withLink(token, ip)).status).toBe(401)
      expect((yield* withCode(email, code, ip)).status).toBe(401)

      const sql = yield* SqlClient.SqlClient
      const audit = yield* sql<{ action: string; text: string }>`
        select action, a::text as text from audit_log a
        where actor_id = ${userId} or lower(new_values->>'email') = ${email}
        order by occurred_at`
      expect(audit.map((a) => a.action)).toEqual(
        expect.arrayContaining(["signin.email_requested", "session.create", "signin.email.failed"])
      )
      const stored = yield* sql<{ text: string }>`select e::text as text from email_sign_ins e`
      for (const row of [...audit, ...stored]) {
        expect(row.text).not.toContain(token)
        expect(row.text).not.toContain(code)
      }
      const [session] = yield* sql<{ method: string }>`select method from sessions where user_id = ${userId}`
      expect(session?.method).toBe("email:link")
    })
  )

  it.effect("the code signs in; five wrong codes kill it (not the link), even for the right code after", () =>
    Effect.gen(function* () {
      const ip = newIp()
      const email = unique("ben")
      const userId = yield* newUser(email)
      expect((yield* ask(email, ip)).status).toBe(202)
      const first = yield* mailed(email, 1)
      for (let i = 0; i < 5; i++) {
        const wrong = yield* withCode(email, wrongCode(first.code, i), ip)
        expect(wrong.status).toBe(401)
        expect(wrong.text).not.toContain(first.code)
      }
      expect((yield* withCode(email, first.code, ip)).status).toBe(401)
      // The link of that mail still works: guessing someone's code must not lock them out of their mail.
      expect((yield* withLink(first.token, ip)).status).toBe(200)

      expect((yield* ask(email, ip)).status).toBe(202)
      const second = yield* mailed(email, 2)
      const signedIn = yield* withCode(email.toUpperCase(), second.code, ip)
      expect(signedIn.status).toBe(200)
      expect(signedIn.body.accessToken).toMatch(/^tls_/)
      const me = yield* call("GET", "/api/v1/me", { key: signedIn.body.accessToken })
      expect(me.body.userId).toBe(userId)
    })
  )

  it.effect("a link and a code stop working when their lifetimes (15 and 10 minutes) are over", () =>
    Effect.gen(function* () {
      const ip = newIp()
      const email = unique("cleo")
      yield* newUser(email)
      expect((yield* ask(email, ip)).status).toBe(202)
      const { token, code } = yield* mailed(email)
      const sql = yield* SqlClient.SqlClient
      const [lifetimes] = yield* sql<{ link: number; code: number }>`
        select extract(epoch from link_expires_at - created_at)::int as link,
          extract(epoch from code_expires_at - created_at)::int as code
        from email_sign_ins where email_key = ${email.toLowerCase()}`
      expect(lifetimes).toEqual({ link: 15 * 60, code: 10 * 60 })
      // The database's clock decides; moving the row's expiries into the past is the time passing.
      yield* sql`
        update email_sign_ins set code_expires_at = now() - interval '1 second'
        where email_key = ${email.toLowerCase()}`
      expect((yield* withCode(email, code, ip)).status).toBe(401)
      yield* sql`
        update email_sign_ins set link_expires_at = now() - interval '1 second'
        where email_key = ${email.toLowerCase()}`
      expect((yield* withLink(token, ip)).status).toBe(401)
    })
  )

  it.effect("a new request replaces the open link: the old link and code are refused", () =>
    Effect.gen(function* () {
      const ip = newIp()
      const email = unique("dan")
      yield* newUser(email)
      expect((yield* ask(email, ip)).status).toBe(202)
      const old = yield* mailed(email, 1)
      expect((yield* ask(email, ip)).status).toBe(202)
      const fresh = yield* mailed(email, 2)
      expect(fresh.token).not.toBe(old.token)
      expect((yield* withLink(old.token, ip)).status).toBe(401)
      if (old.code !== fresh.code) expect((yield* withCode(email, old.code, ip)).status).toBe(401)
      expect((yield* withLink(fresh.token, ip)).status).toBe(200)
    })
  )

  it.effect("known and unknown emails get the same answer; an unknown one creates no user", () =>
    Effect.gen(function* () {
      const ip = newIp()
      const known = unique("eve")
      yield* newUser(known)
      const unknown = unique("nobody")
      const a = yield* ask(known, ip)
      const b = yield* ask(unknown, ip)
      expect(b.status).toBe(a.status)
      expect(b.text).toBe(a.text)
      const headerNames = (r: Reply) => [...r.headers.keys()].filter((k) => k !== "date").sort()
      expect(headerNames(b)).toEqual(headerNames(a))
      // Both mailboxes get the same mail; the unknown one's link says no more than a failed sign-in.
      const knownMail = yield* mailed(known)
      const unknownMail = yield* mailed(unknown)
      expect(unknownMail.link).toMatch(/#email_token=tle_/)
      expect(knownMail.link).toMatch(/#email_token=tle_/)
      const refused = yield* withLink(unknownMail.token, ip)
      expect(refused.status).toBe(401)
      const wrong = yield* withLink("tle_not-a-real-token", ip)
      expect(refused.text).toBe(wrong.text)
      expect((yield* withCode(unknown, unknownMail.code, ip)).status).toBe(401)
      expect(yield* usersWith(unknown)).toBe(0)
      expect(yield* usersWith(known)).toBe(1)
    })
  )

  it.effect(
    "known and unknown addresses take the same time to answer (a figure, printed, not asserted)",
    () =>
      Effect.gen(function* () {
        const rounds = 15
        const known: Array<number> = []
        const unknown: Array<number> = []
        const timed = (email: string) =>
          Effect.gen(function* () {
            const started = performance.now()
            const reply = yield* ask(email, newIp())
            expect(reply.status).toBe(202)
            return performance.now() - started
          })
        for (let i = 0; i < rounds; i++) {
          const email = unique("timed")
          yield* newUser(email)
          // Alternating, so a slower moment of a busy machine falls on both sides alike.
          known.push(yield* timed(email))
          unknown.push(yield* timed(unique("untimed")))
        }
        const median = (xs: Array<number>) =>
          [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1)
        console.log(
          `email sign-in request, median of ${rounds}: known ${median(known)} ms, unknown ${median(unknown)} ms`
        )
      })
  )

  it.effect("an invited email signs up through the mail without AUTH_OPEN_SIGNUP", () =>
    Effect.gen(function* () {
      const ip = newIp()
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      const invitee = unique("fay")
      const invited = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/invitations`, {
        key: tenant.keys.OWNER,
        body: { email: invitee, role: "VIEWER" }
      })
      expect(invited.status).toBe(201)
      expect((yield* ask(invitee, ip)).status).toBe(202)
      const { code } = yield* mailed(invitee, 2)
      const signedIn = yield* withCode(invitee, code, ip)
      expect(signedIn.status).toBe(200)
      expect(yield* usersWith(invitee)).toBe(1)
      // Not a member until the invitation is accepted.
      const me = yield* call("GET", "/api/v1/me", { key: signedIn.body.accessToken })
      expect(me.body.memberships).toEqual([])
    })
  )

  it.effect("TOTP is still asked for after the link", () =>
    Effect.gen(function* () {
      const ip = newIp()
      const email = unique("gus")
      const userId = yield* newUser(email)
      const sessions = yield* Effect.provide(Sessions, Sessions.Default)
      const key = (yield* Effect.orDie(
        sessions.create({ userId, method: "test", ip: null, userAgent: null })
      )).accessToken
      const enrolment = yield* call("POST", "/api/v1/me/totp", { key })
      const { generate } = yield* Effect.promise(() => import("otplib"))
      const first = yield* Effect.promise(() => generate({ secret: enrolment.body.secret }))
      const confirmed = yield* call("POST", "/api/v1/me/totp/confirm", { key, body: { code: first } })
      expect(confirmed.status).toBe(200)
      const backupCode = confirmed.body.backupCodes[0] as string

      expect((yield* ask(email, ip)).status).toBe(202)
      const { token } = yield* mailed(email)
      const firstStep = yield* withLink(token, ip)
      expect(firstStep.status).toBe(200)
      expect(firstStep.body.accessToken).toBeUndefined()
      expect(firstStep.body.secondFactorTicket).toMatch(/^tlt_/)
      const done = yield* call("POST", "/api/v1/auth/second-factor", {
        body: { ticket: firstStep.body.secondFactorTicket, backupCode, transport: "bearer" }
      })
      expect(done.status).toBe(200)
      const sql = yield* SqlClient.SqlClient
      const methods = yield* sql<{ method: string }>`select method from sessions where user_id = ${userId}`
      expect(methods.map((m) => m.method)).toContain("email:link+totp")
    })
  )

  it.effect("a session from the mail can start adding a passkey", () =>
    Effect.gen(function* () {
      const ip = newIp()
      const email = unique("hal")
      yield* newUser(email)
      expect((yield* ask(email, ip)).status).toBe(202)
      const { code } = yield* mailed(email)
      const signedIn = yield* withCode(email, code, ip)
      expect(signedIn.status).toBe(200)
      const options = yield* call("POST", "/api/v1/me/passkeys/registration-options", {
        key: signedIn.body.accessToken
      })
      expect(options.status).toBe(200)
      expect(options.body.challenge).toEqual(expect.any(String))
      expect(options.body.user.name).toBe(email)
    })
  )

  it.effect("requests are limited per email and per address, with 429 and Retry-After", () =>
    Effect.gen(function* () {
      const email = unique("ivy")
      // Per email (3 an hour in this harness), whichever address asks.
      for (let i = 0; i < 3; i++) expect((yield* ask(email, newIp())).status).toBe(202)
      const perEmail = yield* ask(email, newIp())
      expect(perEmail.status).toBe(429)
      expect(Number(perEmail.headers.get("retry-after"))).toBeGreaterThan(0)
      // The same answer whether the email has an account or not: this one has none.
      // Per address (AUTH_RATE_LIMIT_PER_MINUTE, 20), whichever email.
      const ip = newIp()
      const statuses: Array<number> = []
      for (let i = 0; i < 21; i++) statuses.push((yield* ask(unique("flood"), ip)).status)
      expect(statuses.slice(0, 20).every((s) => s === 202)).toBe(true)
      expect(statuses[20]).toBe(429)
      // Code guesses are limited per address too.
      const guesser = newIp()
      const guesses: Array<number> = []
      for (let i = 0; i < 21; i++) guesses.push((yield* withCode(unique("g"), "123456", guesser)).status)
      expect(guesses[20]).toBe(429)
    })
  )

  it.effect("malformed input is a typed 4xx and stores nothing", () =>
    Effect.gen(function* () {
      const ip = newIp()
      const sql = yield* SqlClient.SqlClient
      const count = Effect.map(
        sql<{ n: number }>`select count(*)::int as n from email_sign_ins`,
        (rows) => rows[0]!.n
      ).pipe(Effect.orDie)
      const before = yield* count
      const cases: Array<Effect.Effect<Reply, never, AdminServer>> = [
        ask("a\u0000b@example.com", ip),
        ask("ana@exa\u0007mple.com", ip),
        ask("ana@example.com\r\nBcc: x@example.com", ip),
        // A megabyte (decimal), under HTTP_MAX_BODY, so the value itself reaches the decoder.
        ask(`${"a".repeat(1_000_000)}@example.com`, ip),
        ask(42, ip),
        ask(null, ip),
        call("POST", "/api/v1/auth/email", { text: "email=ana@example.com", contentType: "text/plain" }),
        call("POST", "/api/v1/auth/email", {
          text: "email=ana%40example.com",
          contentType: "application/x-www-form-urlencoded"
        }),
        // What another site's plain HTML form could post (login CSRF with the attacker's own code).
        call("POST", "/api/v1/auth/email/code", {
          text: "email=ana%40example.com&code=123456",
          contentType: "application/x-www-form-urlencoded"
        }),
        call("POST", "/api/v1/auth/email/link", {
          text: "token=tle_abc",
          contentType: "application/x-www-form-urlencoded"
        }),
        withLink("tle_\u0000", ip),
        withLink("x".repeat(1_000_000), ip),
        withCode("ana@example.com", "12345a", ip),
        withCode("ana@example.com", "1234567", ip),
        withCode("a\u0000@example.com", "123456", ip)
      ]
      for (const [i, reply] of cases.entries()) {
        const r = yield* reply
        const what = `case ${i}: ${r.status} ${r.text.slice(0, 200)}`
        expect(r.status, what).toBeGreaterThanOrEqual(400)
        expect(r.status, what).toBeLessThan(500)
        // Typed: the body names the error.
        expect(r.body?._tag, what).toEqual(expect.any(String))
      }
      // Broken JSON is refused before any handler, for every endpoint alike, saying so (MalformedBodies.test).
      const broken = yield* call("POST", "/api/v1/auth/email", { text: "{", contentType: "application/json" })
      expect([broken.status, broken.body?._tag]).toEqual([400, "InvalidRequest"])
      expect(yield* count).toBe(before)
    })
  )

  it("no log line, at any level, carries a link token or a code", () => {
    expect(secrets.length).toBeGreaterThan(10)
    expect(logs.length).toBeGreaterThan(0)
    const leaks = logs.filter((line) => secrets.some((secret) => line.includes(secret)))
    expect(leaks).toEqual([])
  })
})

layer(harness({ AUTH_OPEN_SIGNUP: "true" }), { excludeTestServices: true, timeout: 120_000 })(
  "email sign-in with AUTH_OPEN_SIGNUP",
  (it) => {
    it.effect("an unknown email becomes a user with no organisation, audited user.create", () =>
      Effect.gen(function* () {
        const ip = newIp()
        const email = unique("open")
        expect((yield* ask(email, ip)).status).toBe(202)
        const { token } = yield* mailed(email)
        const signedIn = yield* withLink(token, ip)
        expect(signedIn.status).toBe(200)
        const me = yield* call("GET", "/api/v1/me", { key: signedIn.body.accessToken })
        expect(me.body.email).toBe(email)
        expect(me.body.memberships).toEqual([])
        expect(me.body.platformAdmin).toBe(false)
        const sql = yield* SqlClient.SqlClient
        const created = yield* sql<{ action: string }>`
          select action from audit_log where resource_id = ${me.body.userId} and action = 'user.create'`
        expect(created).toHaveLength(1)
      })
    )
  }
)
