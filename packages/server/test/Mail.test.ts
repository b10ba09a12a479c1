import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Effect, Schedule } from "effect"
import { Sessions } from "../src/Auth/Sessions.js"
import { bootstrapKey, call, createTenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { startCaptureServer } from "./support/CaptureServer.js"

/*
 * Mail through the job queue, end to end: EMAIL_PROVIDERS=resend,smtp with Resend a loopback peer and SMTP a
 * real server. A Resend outage moves the message to SMTP; a Resend refusal of the address ends the job among
 * the failed jobs at once, readable without its body; an export's requester gets the export-ready mail.
 */

const resend = await startCaptureServer()
const smtp = await startSmtpPeer()
const received = smtp.received
afterAll(async () => {
  await resend.close()
  await smtp.stop()
})

const unique = (name: string) =>
  `${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.com`

const eventually = <A>(what: string, find: () => A | undefined) =>
  Effect.sync(find).pipe(
    Effect.filterOrFail(
      (found): found is A => found !== undefined,
      () => new Error(`still waiting for ${what}`)
    ),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeout("30 seconds")
  )

const resendRequestTo = (address: string) =>
  eventually(`a Resend request to ${address}`, () =>
    resend.requests.find((request) => request.body.includes(address))
  )

/** A signed-in user who is a member of the organisation with `role`. */
const memberSession = (organizationId: string, email: string, role: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [user] = yield* sql<{
      id: UserId
    }>`insert into users (email, name) values (${email}, 'Member') returning id`
    yield* sql`insert into memberships (user_id, organization_id, role) values (${user!.id}, ${organizationId}, ${role})`
    const sessions = yield* Sessions
    return (yield* sessions.create({ userId: user!.id, method: "test", ip: null, userAgent: null }))
      .accessToken
  }).pipe(Effect.provide(Sessions.Default), Effect.orDie)

layer(
  adminHarness({
    EMAIL_PROVIDERS: "resend,smtp",
    RESEND_API_KEY: "re_mail_test",
    RESEND_BASE_URL: resend.url,
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    EMAIL_FROM: "Tapline <mail@tapline.test>",
    EMAIL_RETRY_DELAY_SECONDS: "1",
    EMAIL_RETRY_LIMIT: "3"
  }),
  { excludeTestServices: true, timeout: 90_000 }
)("mail through the queue", (it) => {
  it.effect("a Resend outage moves the invitation to SMTP", () =>
    Effect.gen(function* () {
      resend.fallback = () => ({ status: 503, body: "upstream unavailable" })
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      const invitee = unique("failover")
      const created = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/invitations`, {
        key: tenant.keys.OWNER,
        body: { email: invitee, role: "VIEWER" }
      })
      expect(created.status).toBe(201)
      const mail = yield* eventually("the SMTP mail", () =>
        received.find((m) => JSON.stringify(m.to).includes(invitee))
      )
      expect(mail.text).toMatch(/invitation=tli_/)
      const asked = yield* resendRequestTo(invitee)
      expect(asked.headers.authorization).toBe("Bearer re_mail_test")
      // The message id travels as Resend's idempotency key and as the SMTP Message-ID: one message, one id.
      expect(mail.messageId).toBe(`<${asked.headers["idempotency-key"]}@tapline>`)
    })
  )

  it.effect("an address Resend refuses ends among the failed jobs at once, readable without its body", () =>
    Effect.gen(function* () {
      resend.fallback = () => ({
        status: 422,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ statusCode: 422, name: "validation_error", message: "Invalid `to` field." })
      })
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      const invitee = unique("refused")
      expect(
        (yield* call("POST", `/api/v1/organizations/${tenant.orgId}/invitations`, {
          key: tenant.keys.OWNER,
          body: { email: invitee, role: "VIEWER" }
        })).status
      ).toBe(201)
      const failed = yield* call("GET", "/api/v1/infrastructure/jobs/failed", { key: admin }).pipe(
        Effect.filterOrFail((reply) =>
          reply.body.items.some((job: { payload: { to?: string } }) => job.payload.to === invitee)
        ),
        Effect.retry(Schedule.spaced("200 millis")),
        Effect.timeout("30 seconds")
      )
      const job = failed.body.items.find((j: { payload: { to?: string } }) => j.payload.to === invitee)
      expect(job).toMatchObject({ queue: "email.send", attempts: 1, payload: { template: "invitation" } })
      expect(job.error).toContain("resend answered 422")
      // The invitation link is a credential: the dead letter shows who and what, never the body.
      expect(JSON.stringify(job.payload)).not.toContain("tli_")
      expect(JSON.stringify(job.payload)).not.toContain("sign-in")
      expect(resend.requests.filter((r) => r.body.includes(invitee))).toHaveLength(1)
      expect(received.some((m) => JSON.stringify(m.to).includes(invitee))).toBe(false)
    })
  )

  it.effect("the user who asked for an export gets the export-ready mail with its link", () =>
    Effect.gen(function* () {
      resend.fallback = () => ({
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "ok" })
      })
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      const email = unique("exporter")
      const session = yield* memberSession(tenant.orgId, email, "OWNER")
      const queued = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/exports`, {
        key: session,
        body: { kind: "audit" }
      })
      expect(queued.status).toBe(202)
      const request = yield* resendRequestTo(email)
      const body = JSON.parse(request.body)
      expect(body.to).toEqual([email])
      expect(body.subject).toBe(`Your audit export for Org ${tenant.slug} is ready`)
      const link = `/api/v1/organizations/${tenant.orgId}/exports/${queued.body.id}/download`
      expect(body.text).toContain(link)
      expect(body.html).toContain(link)
      // An export asked for with an organisation key has no one to tell.
      const before = resend.requests.length
      const byKey = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/exports`, {
        key: tenant.keys.OWNER,
        body: { kind: "audit" }
      })
      yield* call("GET", `/api/v1/organizations/${tenant.orgId}/exports/${byKey.body.id}`, {
        key: tenant.keys.OWNER
      }).pipe(
        Effect.filterOrFail((reply) => reply.body.status === "done"),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("30 seconds")
      )
      expect(resend.requests.length).toBe(before)
    })
  )
})
