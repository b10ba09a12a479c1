import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Effect, Schedule } from "effect"
import { Webhook } from "standardwebhooks"
import { Jobs } from "../src/Jobs/Jobs.js"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness, TAP_DOMAIN } from "./support/AdminHarness.js"
import { type CapturedRequest, startCaptureServer } from "./support/CaptureServer.js"
import { request } from "./support/HotPathHarness.js"

/*
 * Outgoing webhooks end to end, on the `all` role (the writer stores taps): endpoints managed by OWNERs, the
 * outbox written with the change, deliveries signed as Standard Webhooks says (verified with the
 * `standardwebhooks` package), retried on a short schedule, the endpoint disabled after sustained failure
 * (audited, mailed to the owners, announced to a Slack channel), redelivery, secret rotation, and the SSRF
 * guard. Receivers are loopback capture servers.
 */

const receiver = await startCaptureServer()
receiver.fallback = () => ({ status: 204 })
const chat = await startCaptureServer()
chat.fallback = () => ({ status: 200, body: "ok" })
const smtp = await startSmtpPeer()
afterAll(async () => {
  await receiver.close()
  await chat.close()
  await smtp.stop()
})

const unique = () => Math.random().toString(36).slice(2, 8)

/** Waits for the first captured request `match` accepts. */
const arrived = (server: typeof receiver, match: (request: CapturedRequest) => boolean, what: string) =>
  Effect.sync(() => server.requests.find(match)).pipe(
    Effect.filterOrFail(
      (found): found is CapturedRequest => found !== undefined,
      () => new Error(`waiting for ${what}`)
    ),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeout("30 seconds")
  )

const bodyOf = (request: CapturedRequest) => JSON.parse(request.body)

/** A receiver path of its own per endpoint, so tests running against one server never read each other's. */
const endpoint = (tenant: Tenant, eventTypes: ReadonlyArray<string>, path = `/hook-${unique()}`) =>
  Effect.gen(function* () {
    const created = yield* ok(
      yield* call("POST", `/api/v1/organizations/${tenant.orgId}/webhooks`, {
        key: tenant.keys.OWNER,
        body: { url: `${receiver.url}${path}`, eventTypes, description: "test receiver" }
      }),
      201
    )
    return { id: created.body.endpoint.id as string, secret: created.body.secret as string, path }
  })

const verify = (secret: string, request: CapturedRequest) =>
  new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as {
    type: string
    timestamp: string
    data: Record<string, unknown>
  }

layer(
  adminHarness(
    {
      WEBHOOK_RETRY_DELAYS: "1 second,1 second",
      WEBHOOK_POLL_INTERVAL: "50 millis",
      WEBHOOK_TIMEOUT: "2 seconds",
      EMAIL_PROVIDERS: "smtp",
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_RETRY_DELAY_SECONDS: "1"
    },
    { role: "all" }
  ),
  { excludeTestServices: true, timeout: 120_000 }
)("webhooks", (it) => {
  it.effect(
    "an OWNER adds an endpoint, sees the secret once, and a test ping arrives signed and logged",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const base = `/api/v1/organizations/${tenant.orgId}/webhooks`
        for (const role of ["EDITOR", "VIEWER"] as const) {
          expect((yield* call("GET", base, { key: tenant.keys[role] })).status).toBe(403)
          expect(
            (yield* call("POST", base, {
              key: tenant.keys[role],
              body: { url: `${receiver.url}/x`, eventTypes: ["tap.created"] }
            })).status
          ).toBe(403)
        }
        const hook = yield* endpoint(tenant, ["event.status_changed"])
        expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
        const listed = yield* call("GET", base, { key: tenant.keys.OWNER })
        expect(listed.body).toHaveLength(1)
        expect(listed.text).not.toContain(hook.secret)
        expect(listed.body[0]).toMatchObject({
          kind: "webhook",
          url: `${receiver.url}${hook.path}`,
          enabled: true
        })

        const ping = yield* ok(
          yield* call("POST", `${base}/${hook.id}/test`, { key: tenant.keys.OWNER }),
          202
        )
        const delivered = yield* arrived(receiver, (r) => r.url === hook.path, "the ping")
        expect(delivered.method).toBe("POST")
        expect(delivered.headers["content-type"]).toBe("application/json")
        expect(delivered.headers["webhook-id"]).toBe(ping.body.messageId)
        // The delivery's span goes on in the receiver's trace (W3C trace context).
        expect(delivered.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
        const message = verify(hook.secret, delivered)
        expect(message).toMatchObject({ type: "webhook.test", data: { endpointId: hook.id } })
        // Tampered, or signed with another secret: refused by the receiver's library.
        expect(() =>
          new Webhook(hook.secret).verify(`${delivered.body} `, delivered.headers as Record<string, string>)
        ).toThrow()

        const log = yield* call("GET", `${base}/${hook.id}/attempts`, { key: tenant.keys.OWNER }).pipe(
          Effect.filterOrFail((reply) => reply.body.items.length > 0),
          Effect.retry(Schedule.spaced("50 millis")),
          Effect.timeout("10 seconds")
        )
        expect(log.body.items[0]).toMatchObject({
          messageId: ping.body.messageId,
          eventType: "webhook.test",
          responseStatus: 204,
          error: null
        })
        expect(log.body.items[0].responseTimeMs).toBeGreaterThanOrEqual(0)
        const deliveries = yield* call("GET", `${base}/${hook.id}/deliveries`, { key: tenant.keys.OWNER })
        expect(deliveries.body.items[0]).toMatchObject({
          messageId: ping.body.messageId,
          status: "succeeded",
          attempts: 1
        })

        // Another organisation's owner cannot reach it.
        const other = yield* createTenant(yield* bootstrapKey())
        expect((yield* call("GET", `${base}/${hook.id}`, { key: other.keys.OWNER })).status).toBe(404)
        expect(
          (yield* call("GET", `/api/v1/organizations/${other.orgId}/webhooks/${hook.id}`, {
            key: other.keys.OWNER
          })).status
        ).toBe(404)
      })
  )

  it.effect(
    "admin changes, bands a tap assigned and taps themselves reach the endpoints that subscribed",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const everything = yield* endpoint(tenant, [
          "event.status_changed",
          "import.completed",
          "band.assigned",
          "tap.created"
        ])
        const statusOnly = yield* endpoint(tenant, ["event.status_changed"])
        const { eventId } = yield* liveEvent(tenant, ["WH-1", "WH-2"], "Webhook show")

        for (const hook of [everything, statusOnly]) {
          const status = yield* arrived(
            receiver,
            (r) => r.url === hook.path && bodyOf(r).type === "event.status_changed",
            "status"
          )
          expect(verify(hook.secret, status).data).toEqual({
            eventId,
            name: "Webhook show",
            from: "DRAFT",
            to: "ACTIVE",
            automatic: false
          })
        }
        const imported = yield* arrived(
          receiver,
          (r) => r.url === everything.path && bodyOf(r).type === "import.completed",
          "import"
        )
        expect(verify(everything.secret, imported).data).toMatchObject({
          eventId,
          received: 2,
          created: 2,
          invalid: 0
        })
        expect(
          receiver.requests.some(
            (r) => r.url === statusOnly.path && bodyOf(r).type !== "event.status_changed"
          )
        ).toBe(false)

        // Taps are stored by the writer and announced in batches.
        const { port } = yield* AdminServer
        for (const band of ["WH-1", "WH-2", "WH-1"]) {
          expect(
            (yield* request(port, `/e?bandId=${band}`, { host: `${tenant.slug}.${TAP_DOMAIN}` })).status
          ).toBe(302)
        }
        const taps: Array<Record<string, unknown>> = []
        yield* Effect.sync(() => {
          taps.length = 0
          for (const r of receiver.requests.filter(
            (r) => r.url === everything.path && bodyOf(r).type === "tap.created"
          )) {
            taps.push(...(verify(everything.secret, r).data.taps as Array<Record<string, unknown>>))
          }
          return taps.length
        }).pipe(
          Effect.filterOrFail((count) => count >= 3),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeout("30 seconds")
        )
        expect(taps).toHaveLength(3)
        expect(taps.map((t) => t.bandUid).sort()).toEqual(["WH-1", "WH-1", "WH-2"])
        expect(taps[0]).toMatchObject({
          eventId,
          mode: "LIVE",
          redirectKind: expect.any(String),
          isBot: false
        })
        // No client address or user agent leaves Tapline in a webhook.
        expect(JSON.stringify(taps)).not.toMatch(/clientIp|userAgent|127\.0\.0\.1/)
        expect(
          receiver.requests.some((r) => r.url === statusOnly.path && bodyOf(r).type === "tap.created")
        ).toBe(false)
      })
  )

  it.effect("a finished export is announced as export.ready", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const hook = yield* endpoint(tenant, ["export.ready"])
      const queued = yield* ok(
        yield* call("POST", `/api/v1/organizations/${tenant.orgId}/exports`, {
          key: tenant.keys.OWNER,
          body: { kind: "audit" }
        }),
        202
      )
      const ready = yield* arrived(receiver, (r) => r.url === hook.path, "export.ready")
      const message = verify(hook.secret, ready)
      expect(message.type).toBe("export.ready")
      expect(message.data).toMatchObject({
        exportId: queued.body.id,
        kind: "audit",
        expiresAt: expect.any(String)
      })
      expect(message.data.rows).toBeGreaterThan(0)
    })
  )

  it.effect(
    "a receiver that keeps failing is retried, then disabled: audited, mailed to the owners, told to Slack; redelivery and re-enabling work",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const base = `/api/v1/organizations/${tenant.orgId}/webhooks`
        const owner = `owner-${unique()}@example.com`
        const sql = yield* SqlClient.SqlClient
        const [user] = yield* sql<{
          id: string
        }>`insert into users (email, name) values (${owner}, 'Owner') returning id`
        yield* sql`insert into memberships (user_id, organization_id, role) values (${user!.id}, ${tenant.orgId}, 'OWNER')`
        const slack = yield* ok(
          yield* call("POST", base, {
            key: tenant.keys.OWNER,
            body: {
              kind: "slack",
              url: `${chat.url}/services/T000/B000/${unique()}secret`,
              eventTypes: ["webhook.disabled"]
            }
          }),
          201
        )
        expect(slack.body.secret).toBeNull()
        expect(slack.body.endpoint.url).toBe(`${chat.url}/…`)
        const failing = yield* endpoint(tenant, ["event.status_changed"], `/failing-${unique()}`)
        let healthy = false
        receiver.fallback = (r) =>
          r.url === failing.path && !healthy ? { status: 500, body: "broken" } : { status: 204 }

        const ping = yield* ok(
          yield* call("POST", `${base}/${failing.id}/test`, { key: tenant.keys.OWNER }),
          202
        )
        const disabled = yield* call("GET", `${base}/${failing.id}`, { key: tenant.keys.OWNER }).pipe(
          Effect.filterOrFail((reply) => reply.body.enabled === false),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeout("30 seconds")
        )
        expect(disabled.body.disabledReason).toContain("HTTP 500")
        // The first attempt and the two retries the schedule allows.
        expect(receiver.requests.filter((r) => r.url === failing.path)).toHaveLength(3)
        const ids = new Set(
          receiver.requests.filter((r) => r.url === failing.path).map((r) => r.headers["webhook-id"])
        )
        expect([...ids]).toEqual([ping.body.messageId])
        const attempts = yield* call("GET", `${base}/${failing.id}/attempts`, { key: tenant.keys.OWNER })
        expect(attempts.body.items.map((a: { responseStatus: number }) => a.responseStatus)).toEqual([
          500, 500, 500
        ])
        expect(attempts.body.items[0].error).toContain("broken")

        const audit = yield* sql<{ action: string }>`
          select action from audit_log where resource_id = ${failing.id} order by occurred_at, id`
        expect(audit.map((row) => row.action)).toEqual(["webhook.create", "webhook.disable"])
        const mail = yield* Effect.promise(() => smtp.lastMailTo(owner, 30_000))
        expect(mail.subject).toBe(`[Org ${tenant.slug}] Webhook endpoint disabled`)
        expect(mail.text).toContain(`${receiver.url}${failing.path}`)
        const told = yield* arrived(
          chat,
          (r) => bodyOf(r).text === "Webhook endpoint disabled",
          "the Slack alert"
        )
        expect(told.url).toMatch(/^\/services\/T000\/B000\/\w+secret$/)
        expect(bodyOf(told).blocks[0]).toEqual({
          type: "header",
          text: { type: "plain_text", text: "Webhook endpoint disabled" }
        })

        // Disabled: a ping is refused; re-enabled with a receiver that works again, redelivery sends the message.
        expect((yield* call("POST", `${base}/${failing.id}/test`, { key: tenant.keys.OWNER })).status).toBe(
          409
        )
        healthy = true
        const enabled = yield* ok(
          yield* call("PATCH", `${base}/${failing.id}`, { key: tenant.keys.OWNER, body: { enabled: true } }),
          200
        )
        expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, failingSince: null })
        yield* ok(
          yield* call("POST", `${base}/${failing.id}/deliveries/${ping.body.messageId}/redeliver`, {
            key: tenant.keys.OWNER
          }),
          202
        )
        const deliveries = yield* call("GET", `${base}/${failing.id}/deliveries`, {
          key: tenant.keys.OWNER
        }).pipe(
          Effect.filterOrFail((reply) => reply.body.items[0]?.status === "succeeded"),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeout("30 seconds")
        )
        expect(deliveries.body.items[0]).toMatchObject({
          messageId: ping.body.messageId,
          attempts: 1,
          lastResponseStatus: 204
        })
        expect(
          (yield* call(
            "POST",
            `${base}/${failing.id}/deliveries/01900000-0000-7000-8000-000000000000/redeliver`,
            {
              key: tenant.keys.OWNER
            }
          )).status
        ).toBe(404)
      })
  )

  it.effect("a rotated secret signs beside the previous one until the overlap ends", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const base = `/api/v1/organizations/${tenant.orgId}/webhooks`
      const hook = yield* endpoint(tenant, ["event.status_changed"])
      const rotated = yield* ok(
        yield* call("POST", `${base}/${hook.id}/rotate-secret`, {
          key: tenant.keys.OWNER,
          body: { overlapMinutes: 60 }
        }),
        200
      )
      const fresh = rotated.body.secret as string
      expect(fresh).not.toBe(hook.secret)
      yield* ok(yield* call("POST", `${base}/${hook.id}/test`, { key: tenant.keys.OWNER }), 202)
      const during = yield* arrived(receiver, (r) => r.url === hook.path, "the ping during the overlap")
      expect((during.headers["webhook-signature"] as string).split(" ")).toHaveLength(2)
      expect(verify(fresh, during).type).toBe("webhook.test")
      expect(verify(hook.secret, during).type).toBe("webhook.test")

      yield* ok(
        yield* call("POST", `${base}/${hook.id}/rotate-secret`, {
          key: tenant.keys.OWNER,
          body: { overlapMinutes: 0 }
        }),
        200
      )
        .pipe(Effect.map((reply) => reply.body.secret as string))
        .pipe(
          Effect.flatMap((latest) =>
            Effect.gen(function* () {
              const before = receiver.requests.filter((r) => r.url === hook.path).length
              yield* ok(yield* call("POST", `${base}/${hook.id}/test`, { key: tenant.keys.OWNER }), 202)
              const after = yield* arrived(
                receiver,
                (r) =>
                  r.url === hook.path &&
                  receiver.requests.filter((x) => x.url === hook.path).indexOf(r) >= before,
                "the ping after the overlap"
              )
              expect((after.headers["webhook-signature"] as string).split(" ")).toHaveLength(1)
              expect(verify(latest, after).type).toBe("webhook.test")
              expect(() => verify(fresh, after)).toThrow()
            })
          )
        )
    })
  )

  it.effect(
    "the daily prune removes messages past WEBHOOK_LOG_KEEP_DAYS with their deliveries and attempts",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const hook = yield* endpoint(tenant, ["export.ready"])
        const base = `/api/v1/organizations/${tenant.orgId}/webhooks/${hook.id}`
        const old = yield* ok(yield* call("POST", `${base}/test`, { key: tenant.keys.OWNER }), 202)
        const recent = yield* ok(yield* call("POST", `${base}/test`, { key: tenant.keys.OWNER }), 202)
        yield* arrived(receiver, (r) => r.headers["webhook-id"] === recent.body.messageId, "the recent ping")
        const sql = yield* SqlClient.SqlClient
        yield* sql`update webhook_messages set created_at = now() - interval '31 days' where id = ${old.body.messageId}`
        const jobs = yield* Jobs
        yield* jobs.enqueue("webhooks.prune", {})
        const left = yield* sql<{
          id: string
        }>`select id from webhook_messages where organization_id = ${tenant.orgId}`.pipe(
          Effect.filterOrFail((rows) => rows.length === 1),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeout("20 seconds")
        )
        expect(left.map((row) => row.id)).toEqual([recent.body.messageId])
        const deliveries = yield* call("GET", `${base}/deliveries`, { key: tenant.keys.OWNER })
        expect(deliveries.body.items.map((d: { messageId: string }) => d.messageId)).toEqual([
          recent.body.messageId
        ])
      })
  )

  it.effect(
    "the SSRF guard refuses private, loopback and metadata addresses; chat channels take no taps",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const base = `/api/v1/organizations/${tenant.orgId}/webhooks`
        for (const url of [
          "http://169.254.169.254/latest/meta-data",
          "http://10.0.0.8/hook",
          "http://[::1]:8080/hook",
          "http://192.168.1.1/hook",
          "http://[::ffff:10.0.0.1]/hook"
        ]) {
          const refused = yield* call("POST", base, {
            key: tenant.keys.OWNER,
            body: { url, eventTypes: ["export.ready"] }
          })
          expect(refused.status, url).toBe(400)
          expect(refused.body._tag).toBe("InvalidRequest")
        }
        for (const url of ["ftp://files.example/hook", "javascript:alert(1)", "http://exa\u0000mple.com/"]) {
          expect(
            (yield* call("POST", base, {
              key: tenant.keys.OWNER,
              body: { url, eventTypes: ["export.ready"] }
            })).status
          ).toBe(400)
        }
        // A NUL PostgreSQL cannot store, a description of 1 MB, a body that is not JSON: 400, nothing stored.
        for (const body of [
          { url: `${receiver.url}/nul`, eventTypes: ["export.ready"], description: "a\u0000b" },
          { url: `${receiver.url}/big`, eventTypes: ["export.ready"], description: "x".repeat(1_000_000) },
          { url: `${receiver.url}/twice`, eventTypes: ["export.ready", "export.ready"] }
        ]) {
          expect((yield* call("POST", base, { key: tenant.keys.OWNER, body })).status).toBe(400)
        }
        expect(
          (yield* call("POST", base, {
            key: tenant.keys.OWNER,
            text: "{not json",
            contentType: "application/json"
          })).status
        ).toBe(400)
        const chatTaps = yield* call("POST", base, {
          key: tenant.keys.OWNER,
          body: { kind: "discord", url: `${chat.url}/api/webhooks/1/x`, eventTypes: ["tap.created"] }
        })
        expect(chatTaps.status).toBe(400)
        expect((yield* call("GET", base, { key: tenant.keys.OWNER })).body).toEqual([])
      })
  )

  it.effect("Discord and Teams channels get their documented payloads", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const base = `/api/v1/organizations/${tenant.orgId}/webhooks`
      const paths = { discord: `/api/webhooks/${unique()}/token`, teams: `/workflows/${unique()}/invoke` }
      for (const [kind, path] of Object.entries(paths)) {
        const created = yield* ok(
          yield* call("POST", base, {
            key: tenant.keys.OWNER,
            body: { kind, url: `${chat.url}${path}`, eventTypes: ["export.ready"] }
          }),
          201
        )
        yield* ok(
          yield* call("POST", `${base}/${created.body.endpoint.id}/test`, { key: tenant.keys.OWNER }),
          202
        )
      }
      const discord = bodyOf(yield* arrived(chat, (r) => r.url === paths.discord, "Discord"))
      expect(discord).toEqual({
        username: "Tapline",
        allowed_mentions: { parse: [] },
        embeds: [{ title: "Test message from Tapline", description: "This channel receives Tapline alerts." }]
      })
      const teams = bodyOf(yield* arrived(chat, (r) => r.url === paths.teams, "Teams"))
      expect(teams.type).toBe("message")
      expect(teams.attachments[0].contentType).toBe("application/vnd.microsoft.card.adaptive")
      expect(teams.attachments[0].content).toMatchObject({ type: "AdaptiveCard", version: "1.4" })
      expect(teams.attachments[0].content.body[0]).toMatchObject({
        type: "TextBlock",
        text: "Test message from Tapline"
      })
    })
  )
})
