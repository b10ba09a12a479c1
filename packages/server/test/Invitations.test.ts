import * as Net from "node:net"
import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Effect } from "effect"
import { Sessions } from "../src/Auth/Sessions.js"
import { bootstrapKey, call, createTenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Invitations end to end: the OWNER invites, a real SMTP server (smtp-server, in this process) receives the
 * email (text and branded HTML) through the job queue and the SMTP Email provider, the link's token is previewed
 * and accepted by the invited user only, once. While the mail server is down the mail waits in the queue.
 */

const smtp = await startSmtpPeer()
afterAll(() => smtp.stop())
const smtpPort = smtp.port
const lastMailTo = (address: string, waitMs?: number) =>
  Effect.promise(() => smtp.lastMailTo(address, waitMs))

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
    PUBLIC_URL: "https://console.tapline.test",
    EMAIL_RETRY_DELAY_SECONDS: "1",
    EMAIL_RETRY_LIMIT: "10"
  }),
  { excludeTestServices: true, timeout: 60_000 }
)("invitations", (it) => {
  it.effect("the invited user gets the link by email and joins with the role, once", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      const invitee = unique("ana")
      const branded = yield* call("PATCH", `/api/v1/organizations/${tenant.orgId}`, {
        key: tenant.keys.OWNER,
        body: { branding: { primaryColor: "#0a7b83" } }
      })
      expect(branded.status).toBe(200)
      const created = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/invitations`, {
        key: tenant.keys.OWNER,
        body: { email: invitee, role: "EDITOR" }
      })
      expect(created.status).toBe(201)
      expect(created.body).toMatchObject({ email: invitee, role: "EDITOR" })

      const mail = yield* lastMailTo(invitee)
      expect(mail.from?.text).toContain("invites@tapline.test")
      // The HTML part carries the organisation's colours, its name escaped, and the same link.
      expect(mail.html).toContain("#0a7b83")
      expect(mail.html).toContain(`Org ${tenant.slug}`)
      expect(mail.html).toMatch(/href="https:\/\/console\.tapline\.test\/sign-in\?invitation=tli_/)
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
        smtp.received.length = 0
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

  it.effect("the create answer holds the emailed link once; the list never shows it", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const path = `/api/v1/organizations/${tenant.orgId}/invitations`
      const invitee = unique("eve")
      const created = yield* call("POST", path, {
        key: tenant.keys.OWNER,
        body: { email: invitee, role: "VIEWER" }
      })
      expect(created.status).toBe(201)
      expect(created.body.emailed).toBe(true)
      const mailed = /https:\/\/\S+invitation=tli_[\w-]+/.exec((yield* lastMailTo(invitee)).text ?? "")![0]
      expect(created.body.link).toBe(mailed)
      const listed = yield* call("GET", path, { key: tenant.keys.OWNER })
      expect(JSON.stringify(listed.body)).not.toContain("tli_")
    })
  )

  it.effect("Copy link: a new link works and the old one stops; not emailed; audited; OWNER only", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const other = yield* createTenant(yield* bootstrapKey())
      const path = `/api/v1/organizations/${tenant.orgId}/invitations`
      const invitee = unique("finn")
      const created = yield* call("POST", path, {
        key: tenant.keys.OWNER,
        body: { email: invitee, role: "EDITOR" }
      })
      yield* lastMailTo(invitee)
      const mailsBefore = smtp.received.length
      const tokenOf = (link: string) => new URL(link).searchParams.get("invitation")!
      const linkPath = `${path}/${created.body.id}/link`

      expect((yield* call("POST", linkPath, { key: tenant.keys.EDITOR })).status).toBe(403)
      expect((yield* call("POST", linkPath, { key: tenant.keys.VIEWER })).status).toBe(403)
      // Another organisation's OWNER: the invitation is not theirs to see.
      const foreign = `/api/v1/organizations/${other.orgId}/invitations/${created.body.id}/link`
      expect((yield* call("POST", foreign, { key: other.keys.OWNER })).status).toBe(404)

      const renewed = yield* call("POST", linkPath, { key: tenant.keys.OWNER })
      expect(renewed.status).toBe(200)
      expect(renewed.body).toMatchObject({
        id: created.body.id,
        email: invitee,
        role: "EDITOR",
        emailed: false
      })
      expect(renewed.body.link).not.toBe(created.body.link)
      expect((yield* call("GET", `/api/v1/invitations/${tokenOf(created.body.link)}`)).status).toBe(404)
      expect((yield* call("GET", `/api/v1/invitations/${tokenOf(renewed.body.link)}`)).status).toBe(200)
      expect(smtp.received.length).toBe(mailsBefore)

      const finn = yield* userWithSession(invitee)
      const accepted = yield* call("POST", `/api/v1/invitations/${tokenOf(renewed.body.link)}/accept`, {
        key: finn
      })
      expect(accepted.status).toBe(200)
      // Accepted: no new link for it.
      expect((yield* call("POST", linkPath, { key: tenant.keys.OWNER })).status).toBe(404)

      const sql = yield* SqlClient.SqlClient
      const entries = yield* sql<{ action: string; newValues: unknown }>`
        select action, new_values from audit_log
        where organization_id = ${tenant.orgId} and resource_type = 'invitation' order by occurred_at`
      expect(entries.map((e) => e.action)).toEqual([
        "invitation.create",
        "invitation.link",
        "invitation.accept"
      ])
      expect(JSON.stringify(entries)).not.toContain("tli_")
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

  it.scoped(
    "when the mail server is down the invitation is created and its mail goes out once the server is back",
    () =>
      Effect.gen(function* () {
        const admin = yield* bootstrapKey()
        const tenant = yield* createTenant(admin)
        yield* Effect.promise(() => smtp.stop())
        // A mail server that hangs up on every connection, until it is replaced by a working one.
        let refused = 0
        const broken = Net.createServer((socket) => {
          refused++
          socket.destroy()
        })
        yield* Effect.promise(
          () => new Promise<void>((resolve) => broken.listen(smtpPort, "127.0.0.1", resolve))
        )
        const path = `/api/v1/organizations/${tenant.orgId}/invitations`
        const invitee = unique("cy")
        const created = yield* call("POST", path, {
          key: tenant.keys.OWNER,
          body: { email: invitee, role: "VIEWER" }
        })
        expect(created.status).toBe(201)
        expect((yield* call("GET", path, { key: tenant.keys.OWNER })).body).toHaveLength(1)

        yield* Effect.promise(async () => {
          while (refused < 2) await new Promise((resolve) => setTimeout(resolve, 50))
        }).pipe(Effect.timeout("30 seconds"))
        yield* Effect.promise(() => new Promise<void>((resolve) => broken.close(() => resolve())))
        yield* Effect.promise(() => smtp.restart())
        const mail = yield* lastMailTo(invitee, 60_000)
        expect(mail.text).toMatch(/invitation=tli_/)
      })
  )
})
