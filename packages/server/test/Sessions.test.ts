import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { Effect } from "effect"
import { Sessions } from "../src/Auth/Sessions.js"
import { bootstrapKey, call, createTenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"

/*
 * Sessions against the running server: bearer and cookie authentication, CSRF on cookie changes, refresh
 * rotation and reuse detection, revocation, expiry and the per-user limit. Sessions are opened through the
 * service (the sign-in flows that open them have their own tests); everything else goes over HTTP.
 */

const signIn = (userId: UserId, method = "test") =>
  Effect.flatMap(Sessions, (sessions) =>
    sessions.create({ userId, method, ip: "203.0.113.9", userAgent: "tapline-test" })
  ).pipe(Effect.provide(Sessions.Default), Effect.orDie)

const adminUser = Effect.gen(function* () {
  const key = yield* bootstrapKey("sessions-admin@example.com")
  const sql = yield* SqlClient.SqlClient
  const [user] = yield* sql<{
    id: UserId
  }>`select id from users where lower(email) = 'sessions-admin@example.com'`
  return { key, userId: user!.id }
}).pipe(Effect.orDie)

const withCookie = (access: string, csrf?: string) => ({
  headers: { cookie: `tapline_session=${access}`, ...(csrf === undefined ? {} : { "x-csrf-token": csrf }) }
})

const newOrg = (suffix: string) => ({
  body: { slug: `sess-${suffix}-${Date.now().toString(36)}`, name: "Session org" }
})

layer(adminHarness(), { excludeTestServices: true, timeout: 60_000 })("sessions", (it) => {
  it.effect("a session's access token works as a bearer token and lists the user's sessions", () =>
    Effect.gen(function* () {
      const { userId } = yield* adminUser
      const session = yield* signIn(userId)
      const organizations = yield* call("GET", "/api/v1/organizations", { key: session.accessToken })
      expect(organizations.status).toBe(200)
      const listed = yield* call("GET", "/api/v1/me/sessions", { key: session.accessToken })
      expect(listed.status).toBe(200)
      const mine = listed.body.find((s: { id: string }) => s.id === session.sessionId)
      expect(mine).toMatchObject({ method: "test", ip: "203.0.113.9", userAgent: "tapline-test" })
      // A bearer change needs no CSRF token: browsers never attach Authorization on their own.
      expect(
        (yield* call("POST", "/api/v1/organizations", { key: session.accessToken, ...newOrg("b") })).status
      ).toBe(201)
    })
  )

  it.effect("/me answers the signed-in user, memberships and second-factor state", () =>
    Effect.gen(function* () {
      const { userId, key } = yield* adminUser
      const tenant = yield* createTenant(key)
      const sql = yield* SqlClient.SqlClient
      const email = `me-${Date.now()}@example.com`
      const [user] = yield* sql<{
        id: UserId
      }>`insert into users (email, name) values (${email}, 'Me') returning id`
      yield* sql`insert into memberships (user_id, organization_id, role) values (${user!.id}, ${tenant.orgId}, 'VIEWER')`
      const session = yield* signIn(user!.id)
      const me = yield* call("GET", "/api/v1/me", { key: session.accessToken })
      expect(me.status).toBe(200)
      expect(me.body).toEqual({
        userId: user!.id,
        email,
        name: "Me",
        platformAdmin: false,
        memberships: [{ organizationId: tenant.orgId, role: "VIEWER" }],
        totp: "none"
      })
      expect((yield* call("GET", "/api/v1/me", { key })).body).toMatchObject({ userId, platformAdmin: true })
      expect((yield* call("GET", "/api/v1/me", { key: tenant.keys.OWNER })).status).toBe(403)
    })
  )

  it.effect("a cookie-authenticated change needs the session's CSRF token; reads do not", () =>
    Effect.gen(function* () {
      const { userId } = yield* adminUser
      const session = yield* signIn(userId)
      const other = yield* signIn(userId)
      expect((yield* call("GET", "/api/v1/organizations", withCookie(session.accessToken))).status).toBe(200)
      const without = yield* call("POST", "/api/v1/organizations", {
        ...withCookie(session.accessToken),
        ...newOrg("c1")
      })
      expect(without.status).toBe(401)
      expect(without.body.message).toContain("x-csrf-token")
      // Another session's CSRF token does not fit this one.
      const foreign = yield* call("POST", "/api/v1/organizations", {
        ...withCookie(session.accessToken, other.csrfToken),
        ...newOrg("c2")
      })
      expect(foreign.status).toBe(401)
      const withToken = yield* call("POST", "/api/v1/organizations", {
        ...withCookie(session.accessToken, session.csrfToken),
        ...newOrg("c3")
      })
      expect(withToken.status).toBe(201)
      const sql = yield* SqlClient.SqlClient
      const [entry] = yield* sql<{ actorType: string; actorId: string }>`
        select actor_type, actor_id from audit_log where action = 'organization.create'
        and new_values->>'id' = ${withToken.body.id}`
      expect(entry).toEqual({ actorType: "user", actorId: userId })
    })
  )

  it.effect("refresh rotates the tokens; a retired refresh token ends the whole session", () =>
    Effect.gen(function* () {
      const { userId } = yield* adminUser
      const first = yield* signIn(userId)
      const refreshed = yield* call("POST", "/api/v1/auth/refresh", {
        body: { refreshToken: first.refreshToken }
      })
      expect(refreshed.status).toBe(200)
      const second = refreshed.body
      expect(second.sessionId).toBe(first.sessionId)
      expect(second.refreshToken).not.toBe(first.refreshToken)
      // The old access token is replaced; the new one works.
      expect((yield* call("GET", "/api/v1/me/sessions", { key: first.accessToken })).status).toBe(401)
      expect((yield* call("GET", "/api/v1/me/sessions", { key: second.accessToken })).status).toBe(200)

      // The first refresh token again: stolen or replayed. The session ends for everyone holding it.
      const reused = yield* call("POST", "/api/v1/auth/refresh", {
        body: { refreshToken: first.refreshToken }
      })
      expect(reused.status).toBe(401)
      expect((yield* call("GET", "/api/v1/me/sessions", { key: second.accessToken })).status).toBe(401)
      const again = yield* call("POST", "/api/v1/auth/refresh", {
        body: { refreshToken: second.refreshToken }
      })
      expect(again.status).toBe(401)
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{
        revokedReason: string
      }>`select revoked_reason from sessions where id = ${first.sessionId}`
      expect(row?.revokedReason).toBe("refresh_reuse")
      const audited =
        yield* sql`select 1 from audit_log where action = 'session.refresh_reuse' and resource_id = ${first.sessionId}`
      expect(audited.length).toBe(1)
      expect(
        (yield* call("POST", "/api/v1/auth/refresh", { body: { refreshToken: "tlr_nothing" } })).status
      ).toBe(401)
      expect((yield* call("POST", "/api/v1/auth/refresh", { body: {} })).status).toBe(401)
    })
  )

  it.effect("a browser refreshes with its cookie and gets cookies back, not tokens in the body", () =>
    Effect.gen(function* () {
      const { userId } = yield* adminUser
      const session = yield* signIn(userId)
      const reply = yield* call("POST", "/api/v1/auth/refresh", {
        body: {},
        headers: { cookie: `tapline_refresh=${session.refreshToken}` }
      })
      expect(reply.status).toBe(200)
      expect(reply.body.accessToken).toBeUndefined()
      expect(reply.body.refreshToken).toBeUndefined()
      const cookies = reply.headers.getSetCookie()
      const access = cookies.find((c) => c.startsWith("tapline_session="))!
      expect(access).toMatch(/HttpOnly/)
      expect(access).toMatch(/Secure/)
      expect(access).toMatch(/SameSite=Lax/)
      expect(cookies.find((c) => c.startsWith("tapline_refresh="))).toMatch(/Path=\/api\/v1\/auth\/refresh/)
      const csrf = cookies.find((c) => c.startsWith("tapline_csrf="))!
      expect(csrf).not.toMatch(/HttpOnly/)
      expect(csrf).toContain(reply.body.csrfToken)
      const token = access.split(";")[0]!.slice("tapline_session=".length)
      const change = yield* call("POST", "/api/v1/organizations", {
        ...withCookie(token, reply.body.csrfToken),
        ...newOrg("r")
      })
      expect(change.status).toBe(201)
    })
  )

  it.effect("revoking a session ends it at once; only your own sessions can be revoked", () =>
    Effect.gen(function* () {
      const { userId, key } = yield* adminUser
      const session = yield* signIn(userId)
      const path = `/api/v1/me/sessions/${session.sessionId}`
      expect((yield* call("DELETE", path, { key })).status).toBe(204)
      expect((yield* call("GET", "/api/v1/organizations", { key: session.accessToken })).status).toBe(401)
      expect((yield* call("DELETE", path, { key })).status).toBe(404)
      // Someone else's session is not found, and an organisation's key has no sessions at all.
      const tenant = yield* createTenant(key)
      const sql = yield* SqlClient.SqlClient
      const [stranger] = yield* sql<{ id: UserId }>`
        insert into users (email, name) values (${`stranger-${Date.now()}@example.com`}, 'S') returning id`
      const theirs = yield* signIn(stranger!.id)
      expect((yield* call("DELETE", `/api/v1/me/sessions/${theirs.sessionId}`, { key })).status).toBe(404)
      expect((yield* call("GET", "/api/v1/organizations", { key: theirs.accessToken })).status).toBe(200)
      expect((yield* call("GET", "/api/v1/me/sessions", { key: tenant.keys.OWNER })).status).toBe(403)
    })
  )

  it.effect("signing out ends this session only and clears the browser's cookies", () =>
    Effect.gen(function* () {
      const { userId, key } = yield* adminUser
      const leaving = yield* signIn(userId)
      const staying = yield* signIn(userId)
      // By cookie it is a change: it needs the CSRF token too.
      expect((yield* call("POST", "/api/v1/auth/sign-out", withCookie(leaving.accessToken))).status).toBe(401)
      const out = yield* call(
        "POST",
        "/api/v1/auth/sign-out",
        withCookie(leaving.accessToken, leaving.csrfToken)
      )
      expect(out.status).toBe(204)
      const cleared = out.headers.getSetCookie()
      for (const name of ["tapline_session", "tapline_refresh", "tapline_csrf"]) {
        expect(cleared.find((c) => c.startsWith(`${name}=`))).toMatch(/Max-Age=0/)
      }
      expect((yield* call("GET", "/api/v1/organizations", { key: leaving.accessToken })).status).toBe(401)
      const refresh = yield* call("POST", "/api/v1/auth/refresh", {
        body: { refreshToken: leaving.refreshToken }
      })
      expect(refresh.status).toBe(401)
      expect((yield* call("GET", "/api/v1/organizations", { key: staying.accessToken })).status).toBe(200)
      // An API key has no session to end.
      expect((yield* call("POST", "/api/v1/auth/sign-out", { key })).status).toBe(403)
    })
  )

  it.effect("idle, absolute and access-token expiry", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { userId } = yield* adminUser
      const idle = yield* signIn(userId)
      yield* sql`update sessions set last_used_at = now() - interval '13 hours' where id = ${idle.sessionId}`
      expect((yield* call("GET", "/api/v1/organizations", { key: idle.accessToken })).status).toBe(401)
      expect(
        (yield* call("POST", "/api/v1/auth/refresh", { body: { refreshToken: idle.refreshToken } })).status
      ).toBe(401)

      const old = yield* signIn(userId)
      yield* sql`update sessions set expires_at = now() - interval '1 second' where id = ${old.sessionId}`
      expect((yield* call("GET", "/api/v1/organizations", { key: old.accessToken })).status).toBe(401)
      expect(
        (yield* call("POST", "/api/v1/auth/refresh", { body: { refreshToken: old.refreshToken } })).status
      ).toBe(401)

      // An expired access token is renewed by its refresh token.
      const stale = yield* signIn(userId)
      yield* sql`update sessions set access_expires_at = now() - interval '1 second' where id = ${stale.sessionId}`
      expect((yield* call("GET", "/api/v1/organizations", { key: stale.accessToken })).status).toBe(401)
      const renewed = yield* call("POST", "/api/v1/auth/refresh", {
        body: { refreshToken: stale.refreshToken }
      })
      expect(renewed.status).toBe(200)
      expect((yield* call("GET", "/api/v1/organizations", { key: renewed.body.accessToken })).status).toBe(
        200
      )
    })
  )

  it.effect("a user keeps at most five sessions: a sixth sign-in ends the oldest", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [user] = yield* sql<{ id: UserId }>`
        insert into users (email, name) values (${`limit-${Date.now()}@example.com`}, 'L') returning id`
      const opened = []
      for (let i = 0; i < 6; i++) opened.push(yield* signIn(user!.id, `test-${i}`))
      expect((yield* call("GET", "/api/v1/organizations", { key: opened[0]!.accessToken })).status).toBe(401)
      const listed = yield* call("GET", "/api/v1/me/sessions", { key: opened[5]!.accessToken })
      expect(listed.body.map((s: { method: string }) => s.method)).toEqual([
        "test-5",
        "test-4",
        "test-3",
        "test-2",
        "test-1"
      ])
      // Concurrent sign-ins still leave five.
      yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => signIn(user!.id), { concurrency: "unbounded" })
      const [live] = yield* sql<{ count: number }>`
        select count(*)::int as count from sessions where user_id = ${user!.id} and revoked_at is null`
      expect(live?.count).toBe(5)
      void AdminServer
    })
  )
})
