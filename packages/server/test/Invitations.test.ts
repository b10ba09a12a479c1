import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { freePort } from "@tapline/testing/ports"
import { Effect } from "effect"
import { type ParsedMail, simpleParser } from "mailparser"
import { SMTPServer } from "smtp-server"
import { Sessions } from "../src/Auth/Sessions.js"
import { bootstrapKey, call, createTenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Invitations end to end: the OWNER invites, a real SMTP server (smtp-server, in this process) receives the
 * email through the SMTP Email provider, the link's token is previewed and accepted by the invited user only,
 * once. When the mail server is down the invitation is not created.
 */

const received: Array<ParsedMail> = []
const smtpPort = await freePort()
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  onData(stream, _session, callback) {
    simpleParser(stream)
      .then((mail) => {
        received.push(mail)
        callback()
      })
      .catch(callback)
  }
})
await new Promise<void>((resolve) => smtp.listen(smtpPort, "127.0.0.1", resolve))

const lastMailTo = (address: string) =>
  Effect.promise(async () => {
    for (let i = 0; i < 50; i++) {
      const mail = received.findLast((m) => m.to !== undefined && JSON.stringify(m.to).includes(address))
      if (mail) return mail
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`no email to ${address}`)
  })

const userWithSession = (email: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [user] = yield* sql<{
      id: UserId
    }>`insert into users (email, name) values (${email}, 'U') returning id`
    const sessions = yield* Sessions
    const tokens = yield* sessions.create({ userId: user!.id, method: "test", ip: null, userAgent: null })
    return tokens.accessToken
  }).pipe(Effect.provide(Sessions.Default), Effect.orDie)

const unique = (name: string) =>
  `${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.com`

layer(
  adminHarness({
    EMAIL_PROVIDER: "smtp",
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    EMAIL_FROM: "Tapline <invites@tapline.test>",
    PUBLIC_URL: "https://console.tapline.test"
  }),
  { excludeTestServices: true, timeout: 60_000 }
)("invitations", (it) => {
  it.effect("the invited user gets the link by email and joins with the role, once", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      const invitee = unique("ana")
      const created = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/invitations`, {
        key: tenant.keys.OWNER,
        body: { email: invitee, role: "EDITOR" }
      })
      expect(created.status).toBe(201)
      expect(created.body).toMatchObject({ email: invitee, role: "EDITOR" })

      const mail = yield* lastMailTo(invitee)
      expect(mail.from?.text).toContain("invites@tapline.test")
      expect(mail.subject).toContain(`Org ${tenant.slug}`)
      const link = /https:\/\/console\.tapline\.test\/sign-in\?invitation=(tli_[A-Za-z0-9_-]+)/.exec(
        mail.text ?? ""
      )
      expect(link).not.toBeNull()
      const token = link![1]!

      const preview = yield* call("GET", `/api/v1/invitations/${token}`)
      expect(preview.status).toBe(200)
      expect(preview.body).toMatchObject({
        organizationName: `Org ${tenant.slug}`,
        email: invitee,
        role: "EDITOR"
      })

      // Someone else, signed in, cannot use the link; an organisation key is not a user.
      const stranger = yield* userWithSession(unique("mallory"))
      expect((yield* call("POST", `/api/v1/invitations/${token}/accept`, { key: stranger })).status).toBe(403)
      expect(
        (yield* call("POST", `/api/v1/invitations/${token}/accept`, { key: tenant.keys.OWNER })).status
      ).toBe(403)
      expect((yield* call("POST", `/api/v1/invitations/${token}/accept`)).status).toBe(401)

      const ana = yield* userWithSession(invitee.toUpperCase())
      expect((yield* call("GET", `/api/v1/organizations/${tenant.orgId}`, { key: ana })).status).toBe(404)
      const accepted = yield* call("POST", `/api/v1/invitations/${token}/accept`, { key: ana })
      expect(accepted.status).toBe(200)
      expect(accepted.body).toEqual({ organizationId: tenant.orgId, role: "EDITOR" })
      expect((yield* call("GET", `/api/v1/organizations/${tenant.orgId}`, { key: ana })).status).toBe(200)

      // Single use.
      expect((yield* call("POST", `/api/v1/invitations/${token}/accept`, { key: ana })).status).toBe(404)
      expect((yield* call("GET", `/api/v1/invitations/${token}`)).status).toBe(404)

      const sql = yield* SqlClient.SqlClient
      const actions = yield* sql<{ action: string }>`
        select action from audit_log where organization_id = ${tenant.orgId} and resource_type = 'invitation'
        order by occurred_at`
      expect(actions.map((a) => a.action)).toEqual(["invitation.create", "invitation.accept"])
    })
  )

  it.effect(
    "only an OWNER invites; inviting again replaces the open link; revoked and unknown links are refused",
    () =>
      Effect.gen(function* () {
        const admin = yield* bootstrapKey()
        const tenant = yield* createTenant(admin)
        const path = `/api/v1/organizations/${tenant.orgId}/invitations`
        const invitee = unique("ben")
        const body = { email: invitee, role: "VIEWER" }
        expect((yield* call("POST", path, { key: tenant.keys.EDITOR, body })).status).toBe(403)
        const first = yield* call("POST", path, { key: tenant.keys.OWNER, body })
        const firstToken = /invitation=(tli_[\w-]+)/.exec((yield* lastMailTo(invitee)).text ?? "")![1]!
        received.length = 0
        const second = yield* call("POST", path, { key: tenant.keys.OWNER, body })
        const secondToken = /invitation=(tli_[\w-]+)/.exec((yield* lastMailTo(invitee)).text ?? "")![1]!
        expect(secondToken).not.toBe(firstToken)
        expect((yield* call("GET", `/api/v1/invitations/${firstToken}`)).status).toBe(404)
        const listed = yield* call("GET", path, { key: tenant.keys.OWNER })
        expect(listed.body.map((i: { id: string }) => i.id)).toEqual([second.body.id])
        expect(first.body.id).not.toBe(second.body.id)

        expect((yield* call("DELETE", `${path}/${second.body.id}`, { key: tenant.keys.OWNER })).status).toBe(
          204
        )
        expect((yield* call("GET", `/api/v1/invitations/${secondToken}`)).status).toBe(404)
        expect((yield* call("DELETE", `${path}/${second.body.id}`, { key: tenant.keys.OWNER })).status).toBe(
          404
        )
        expect((yield* call("GET", "/api/v1/invitations/tli_unknown")).status).toBe(404)
      })
  )

  it.effect("a link into an organisation deleted since is refused, even to the invited user", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      const invitee = unique("dora")
      const created = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/invitations`, {
        key: tenant.keys.OWNER,
        body: { email: invitee, role: "EDITOR" }
      })
      expect(created.status).toBe(201)
      const token = /invitation=(tli_[\w-]+)/.exec((yield* lastMailTo(invitee)).text ?? "")![1]!
      expect((yield* call("DELETE", `/api/v1/organizations/${tenant.orgId}`, { key: admin })).status).toBe(
        204
      )
      const dora = yield* userWithSession(invitee)
      expect((yield* call("GET", `/api/v1/invitations/${token}`)).status).toBe(404)
      expect((yield* call("POST", `/api/v1/invitations/${token}/accept`, { key: dora })).status).toBe(404)
      const sql = yield* SqlClient.SqlClient
      expect(
        yield* sql`select 1 from memberships where organization_id = ${tenant.orgId}
                        and user_id = (select id from users where email = ${invitee})`
      ).toHaveLength(0)
    })
  )

  it.effect("when the mail server is down the invitation is not created: 503, nothing stored", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      yield* Effect.promise(() => new Promise<void>((resolve) => smtp.close(() => resolve())))
      const path = `/api/v1/organizations/${tenant.orgId}/invitations`
      const failed = yield* call("POST", path, {
        key: tenant.keys.OWNER,
        body: { email: unique("cy"), role: "VIEWER" }
      })
      expect(failed.status).toBe(503)
      expect(failed.body._tag).toBe("DependencyUnavailable")
      expect(failed.text).not.toContain(String(smtpPort))
      expect((yield* call("GET", path, { key: tenant.keys.OWNER })).body).toEqual([])
      const sql = yield* SqlClient.SqlClient
      const audited =
        yield* sql`select 1 from audit_log where organization_id = ${tenant.orgId} and action = 'invitation.create'`
      expect(audited).toHaveLength(0)
    })
  )
})
