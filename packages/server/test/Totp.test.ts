import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { Effect, Layer } from "effect"
import { generate } from "otplib"
import { Audit } from "../src/Audit/Audit.js"
import { SignIn } from "../src/Auth/SignIn.js"
import { Totp } from "../src/Auth/Totp.js"
import * as SecretBox from "../src/Crypto/SecretBox.js"
import { call } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { keyRotation } from "./support/KeyRotation.js"

/*
 * TOTP over HTTP against the running server: enrolment with a seed stored encrypted, confirmation with
 * backup codes, sign-in asking for the second factor, code replay, backup-code reuse, lockout and the
 * per-IP rate limit. Codes are computed by otplib as an authenticator app would.
 */

const services = SignIn.Default.pipe(Layer.provide([Audit.Default, SecretBox.layer]))

const newUser = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [user] = yield* sql<{ id: UserId }>`
    insert into users (email, name) values (${`totp-${Date.now()}-${Math.random()}@example.com`}, 'T') returning id`
  return user!.id
}).pipe(Effect.orDie)

/** What a finished first sign-in step hands over: a session, or a ticket waiting for the second factor. */
const firstStep = (userId: UserId) =>
  Effect.flatMap(SignIn, (signIn) => signIn.complete(userId, "test")).pipe(
    Effect.provide(services),
    Effect.orDie
  )

const sessionOf = (userId: UserId) =>
  Effect.map(firstStep(userId), (outcome) => {
    if (outcome.kind !== "session") throw new Error("expected a session without TOTP")
    return outcome.tokens.accessToken
  })

/** The code an app shows `offsetSeconds` from now. */
const codeAt = (secret: string, offsetSeconds = 0) =>
  Effect.promise(() => generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSeconds }))

/** Enrols and confirms TOTP for a fresh user; returns the seed, backup codes and a session token. */
const enrolled = Effect.gen(function* () {
  const userId = yield* newUser
  const key = yield* sessionOf(userId)
  const enrolment = yield* call("POST", "/api/v1/me/totp", { key })
  expect(enrolment.status).toBe(201)
  const secret = enrolment.body.secret as string
  const firstCode = yield* codeAt(secret)
  const confirmed = yield* call("POST", "/api/v1/me/totp/confirm", { key, body: { code: firstCode } })
  expect(confirmed.status).toBe(200)
  return { userId, key, secret, firstCode, backupCodes: confirmed.body.backupCodes as Array<string> }
})

const secondFactor = (body: Record<string, unknown>) =>
  call("POST", "/api/v1/auth/second-factor", { body: { transport: "bearer", ...body } })

layer(adminHarness({ AUTH_RATE_LIMIT_PER_MINUTE: "1000" }), { excludeTestServices: true, timeout: 60_000 })(
  "TOTP",
  (it) => {
    it.effect(
      "enrolment stores the seed encrypted and answers an otpauth URI, a QR code and 10 backup codes",
      () =>
        Effect.gen(function* () {
          const userId = yield* newUser
          const key = yield* sessionOf(userId)
          const enrolment = yield* call("POST", "/api/v1/me/totp", { key })
          expect(enrolment.body.otpauthUri).toMatch(
            /^otpauth:\/\/totp\/Tapline:totp-.*%40example\.com\?secret=[A-Z2-7]+/
          )
          expect(enrolment.body.qrSvg).toMatch(/^<svg/)
          const sql = yield* SqlClient.SqlClient
          const [row] = yield* sql<{
            secret: string
          }>`select secret from totp_factors where user_id = ${userId}`
          expect(row?.secret.startsWith("v1.")).toBe(true)
          expect(row?.secret).not.toContain(enrolment.body.secret)
          // Not active until confirmed: sign-in does not ask for it yet.
          expect((yield* firstStep(userId)).kind).toBe("session")
          const wrong = yield* call("POST", "/api/v1/me/totp/confirm", { key, body: { code: "000000" } })
          expect(wrong.status).toBe(400)
          const confirmed = yield* call("POST", "/api/v1/me/totp/confirm", {
            key,
            body: { code: yield* codeAt(enrolment.body.secret) }
          })
          expect(confirmed.body.backupCodes).toHaveLength(10)
          expect(new Set(confirmed.body.backupCodes).size).toBe(10)
          const hashes = yield* sql`select code_hash from backup_codes where user_id = ${userId}`
          expect(hashes).toHaveLength(10)
          expect((yield* call("POST", "/api/v1/me/totp", { key })).status).toBe(409)
          const audited = yield* sql<{ action: string }>`
          select action from audit_log where resource_id = ${userId} order by occurred_at`
          expect(audited.map((a) => a.action)).toEqual(["totp.enrol_start", "totp.enable"])
        })
    )

    it.effect("sign-in asks for the second factor; a code is good once", () =>
      Effect.gen(function* () {
        const { userId, secret, firstCode } = yield* enrolled
        const outcome = yield* firstStep(userId)
        expect(outcome.kind).toBe("second_factor")
        const ticket = outcome.kind === "second_factor" ? outcome.ticket : ""
        expect((yield* secondFactor({ ticket, code: "000000" })).status).toBe(401)
        // The code that confirmed enrolment was for this step: replaying it fails; the next step's code works.
        expect((yield* secondFactor({ ticket, code: firstCode })).status).toBe(401)
        const next = yield* codeAt(secret, 30)
        const signedIn = yield* secondFactor({ ticket, code: next })
        expect(signedIn.status).toBe(200)
        expect((yield* call("GET", "/api/v1/me/sessions", { key: signedIn.body.accessToken })).status).toBe(
          200
        )
        // The ticket is spent, and the same code on a new ticket is a replay.
        expect((yield* secondFactor({ ticket, code: next })).status).toBe(401)
        const again = yield* firstStep(userId)
        const ticket2 = again.kind === "second_factor" ? again.ticket : ""
        expect((yield* secondFactor({ ticket: ticket2, code: next })).status).toBe(401)
      })
    )

    it.effect("a backup code signs in once; a browser gets cookies", () =>
      Effect.gen(function* () {
        const { userId, backupCodes } = yield* enrolled
        const ticketOf = Effect.map(firstStep(userId), (o) => (o.kind === "second_factor" ? o.ticket : ""))
        const ticket = yield* ticketOf
        const browser = yield* call("POST", "/api/v1/auth/second-factor", {
          body: { ticket, backupCode: backupCodes[0]!.toUpperCase() }
        })
        expect(browser.status).toBe(200)
        expect(browser.body.accessToken).toBeUndefined()
        expect(browser.headers.getSetCookie().some((c) => c.startsWith("tapline_session="))).toBe(true)
        const reused = yield* secondFactor({ ticket: yield* ticketOf, backupCode: backupCodes[0] })
        expect(reused.status).toBe(401)
        expect((yield* secondFactor({ ticket: yield* ticketOf, backupCode: backupCodes[1] })).status).toBe(
          200
        )
        const both = yield* secondFactor({
          ticket: yield* ticketOf,
          code: "123456",
          backupCode: backupCodes[2]
        })
        expect(both.status).toBe(400)
      })
    )

    it.effect("five failures lock the second factor, even for a right code; failures are audited", () =>
      Effect.gen(function* () {
        const { userId, secret } = yield* enrolled
        const outcome = yield* firstStep(userId)
        const ticket = outcome.kind === "second_factor" ? outcome.ticket : ""
        for (let i = 0; i < 5; i++) expect((yield* secondFactor({ ticket, code: "000000" })).status).toBe(401)
        const locked = yield* secondFactor({ ticket, code: yield* codeAt(secret, 30) })
        expect(locked.status).toBe(429)
        expect(locked.body.retryAfterSeconds).toBeGreaterThan(0)
        const sql = yield* SqlClient.SqlClient
        const failures = yield* sql`
          select 1 from audit_log where action = 'signin.second_factor.failed' and actor_id = ${userId}`
        expect(failures).toHaveLength(5)
      })
    )

    it.effect("rotation re-encrypts every seed under the new key, and codes still verify", () =>
      Effect.gen(function* () {
        const { userId, secret } = yield* enrolled
        const { current, next, overKeys: withBox } = yield* keyRotation(Totp.Default)
        const rotated = yield* Effect.flatMap(Totp, (totp) => totp.reencryptSeeds).pipe(
          withBox([next, ...current])
        )
        expect(rotated).toBeGreaterThanOrEqual(1)
        const sql = yield* SqlClient.SqlClient
        const stale = yield* sql`select 1 from totp_factors where secret not like 'v2.%'`
        expect(stale).toHaveLength(0)
        // Only the new key is needed from now on.
        const code = yield* codeAt(secret, 30)
        const valid = yield* Effect.flatMap(Totp, (totp) => totp.verifySecondFactor(userId, { code })).pipe(
          withBox([next])
        )
        expect(valid).toBe(true)
      })
    )

    it.effect("disabling needs a valid factor and then sign-in no longer asks for it", () =>
      Effect.gen(function* () {
        const { userId, key, secret } = yield* enrolled
        expect(
          (yield* call("POST", "/api/v1/me/totp/disable", { key, body: { code: "000000" } })).status
        ).toBe(401)
        const done = yield* call("POST", "/api/v1/me/totp/disable", {
          key,
          body: { code: yield* codeAt(secret, 30) }
        })
        expect(done.status).toBe(204)
        expect((yield* firstStep(userId)).kind).toBe("session")
      })
    )
  }
)

layer(adminHarness({ AUTH_RATE_LIMIT_PER_MINUTE: "3" }), { excludeTestServices: true, timeout: 60_000 })(
  "sign-in rate limit",
  (it) => {
    it.effect("past the per-minute limit an address gets 429 before any check", () =>
      Effect.gen(function* () {
        // Eight calls span at most two one-minute windows, so one window sees four or more: the limit trips
        // whatever the second the test starts at, and the first three always pass to the handler.
        const statuses = []
        for (let i = 0; i < 8; i++)
          statuses.push((yield* secondFactor({ ticket: "tlt_unknown", code: "123456" })).status)
        expect(statuses).toContain(429)
        expect(statuses.slice(0, 3)).toEqual([401, 401, 401])
      })
    )
  }
)
