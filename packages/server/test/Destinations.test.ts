import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Organisations' broker destinations through the admin API: OWNERs only, the URL vetted (plaintext Kafka and
 * a host the outbound policy refuses answer 400), sealed and shown without its credentials, audited, and kept
 * apart from webhooks (each API lists and finds only its own endpoints).
 */

const PASSWORD = "s3cr3t-destination-password"
const rabbitUrl = (exchange: string, password = PASSWORD) =>
  `amqp://tapline:${password}@127.0.0.1:5672/${exchange}`

layer(adminHarness({}, { role: "api" }), { excludeTestServices: true, timeout: 120_000 })(
  "destinations api",
  (it) => {
    it.effect(
      "an OWNER creates, lists, reads, updates and removes a destination; the password never shows",
      () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey())
          const base = `/api/v1/organizations/${tenant.orgId}/destinations`
          const owner = { key: tenant.keys.OWNER }
          const created = yield* ok(
            yield* call("POST", base, {
              ...owner,
              body: {
                url: rabbitUrl("orders"),
                eventTypes: ["tap.created", "event.status_changed"],
                description: "ops"
              }
            }),
            201
          )
          expect(created.body).toMatchObject({
            kind: "rabbitmq",
            url: "amqp://127.0.0.1:5672/orders",
            description: "ops",
            eventTypes: ["tap.created", "event.status_changed"],
            enabled: true,
            disabledReason: null,
            pending: 0,
            oldestPendingAt: null,
            delivered: 0,
            lastDeliveredAt: null,
            lastError: null
          })
          const id = created.body.id as string
          const listed = yield* ok(yield* call("GET", base, owner), 200)
          expect(listed.body.map((d: { id: string }) => d.id)).toEqual([id])
          expect((yield* ok(yield* call("GET", `${base}/${id}`, owner), 200)).body.id).toBe(id)

          const updated = yield* ok(
            yield* call("PATCH", `${base}/${id}`, {
              ...owner,
              body: { url: rabbitUrl("orders-2", "another-password"), enabled: false, description: "paused" }
            }),
            200
          )
          expect(updated.body).toMatchObject({
            url: "amqp://127.0.0.1:5672/orders-2",
            enabled: false,
            disabledReason: "disabled by an owner",
            description: "paused"
          })
          // A destination is not a webhook, nor the other way round: neither API sees the other's endpoints.
          expect(
            (yield* ok(yield* call("GET", `/api/v1/organizations/${tenant.orgId}/webhooks`, owner), 200)).body
          ).toEqual([])
          expect(
            (yield* call("GET", `/api/v1/organizations/${tenant.orgId}/webhooks/${id}`, owner)).status
          ).toBe(404)
          expect(
            (yield* call("DELETE", `/api/v1/organizations/${tenant.orgId}/webhooks/${id}`, owner)).status
          ).toBe(404)

          const audit = yield* ok(
            yield* call("GET", `/api/v1/organizations/${tenant.orgId}/audit?resourceType=destination`, owner),
            200
          )
          expect(audit.text).toContain("destination.create")
          expect(audit.text).toContain("destination.update")
          for (const text of [created.text, listed.text, updated.text, audit.text]) {
            expect(text).not.toContain(PASSWORD)
            expect(text).not.toContain("another-password")
            expect(text).not.toContain("tapline:")
          }

          expect((yield* call("DELETE", `${base}/${id}`, owner)).status).toBe(204)
          expect((yield* call("GET", `${base}/${id}`, owner)).status).toBe(404)
          expect((yield* ok(yield* call("GET", base, owner), 200)).body).toEqual([])
        })
    )

    it.effect("only OWNERs reach destinations; another organisation's id is not found", () =>
      Effect.gen(function* () {
        const admin = yield* bootstrapKey()
        const a = yield* createTenant(admin)
        const b = yield* createTenant(admin)
        const base = `/api/v1/organizations/${a.orgId}/destinations`
        for (const role of ["EDITOR", "VIEWER"] as const) {
          expect((yield* call("GET", base, { key: a.keys[role] })).status).toBe(403)
          expect(
            (yield* call("POST", base, {
              key: a.keys[role],
              body: { url: rabbitUrl("x"), eventTypes: ["tap.created"] }
            })).status
          ).toBe(403)
        }
        const created = yield* ok(
          yield* call("POST", base, {
            key: a.keys.OWNER,
            body: { url: rabbitUrl("a"), eventTypes: ["tap.created"] }
          }),
          201
        )
        const other = `/api/v1/organizations/${b.orgId}/destinations/${created.body.id}`
        expect((yield* call("GET", other, { key: b.keys.OWNER })).status).toBe(404)
        expect((yield* call("DELETE", other, { key: b.keys.OWNER })).status).toBe(404)
        // Not a member: the organisation is not there for it.
        expect(
          (yield* call("GET", `/api/v1/organizations/${a.orgId}/destinations`, { key: b.keys.OWNER })).status
        ).toBe(404)
      })
    )

    it.effect(
      "refuses plaintext Kafka, hosts the outbound policy refuses, and malformed input with 400",
      () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey())
          const base = `/api/v1/organizations/${tenant.orgId}/destinations`
          const post = (body: unknown) => call("POST", base, { key: tenant.keys.OWNER, body })
          const kafka = yield* post({
            url: "kafka://user:pw@kafka.example.com:9092/taps",
            eventTypes: ["tap.created"]
          })
          expect(kafka.status).toBe(400)
          expect(kafka.text).toContain("kafka+tls://")
          // kafka+tls:// is taken, and its hosts are vetted like any other.
          const kafkaTls = yield* post({
            url: `kafka+tls://u:${PASSWORD}@10.0.0.1:9093/taps`,
            eventTypes: ["tap.created"]
          })
          expect(kafkaTls.status).toBe(400)
          expect(kafkaTls.text).toContain("loopback, private")
          expect(kafkaTls.text).not.toContain(PASSWORD)
          // 127.0.0.2 is loopback and not in OUTBOUND_ALLOW; 10.0.0.1 private: refused without resolving anything.
          for (const host of ["127.0.0.2", "10.0.0.1", "[::1]"]) {
            const refused = yield* post({
              url: `amqp://u:${PASSWORD}@${host}:5672/x`,
              eventTypes: ["tap.created"]
            })
            expect(refused.status).toBe(400)
            expect(refused.text).toContain("loopback, private")
            expect(refused.text).not.toContain(PASSWORD)
          }
          const malformed = [
            { url: `amqp://127.0.0.1:5672/x\u0000`, eventTypes: ["tap.created"] },
            { url: `amqp://127.0.0.1:5672/x\r\nInjected: 1`, eventTypes: ["tap.created"] },
            { url: `amqp://127.0.0.1:5672/${"x".repeat(1_000_000)}`, eventTypes: ["tap.created"] },
            { url: "http://127.0.0.1/x", eventTypes: ["tap.created"] },
            { url: "amqp://127.0.0.1:5672/%E0", eventTypes: ["tap.created"] },
            { url: "nats://127.0.0.1:4222/has.dots", eventTypes: ["tap.created"] },
            { url: "amqp://127.0.0.1:99999/x", eventTypes: ["tap.created"] },
            { url: rabbitUrl("x"), eventTypes: [] },
            { url: rabbitUrl("x"), eventTypes: ["no.such"] }
          ]
          for (const body of malformed) {
            const reply = yield* post(body)
            expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(400)
          }
          const wrongType = yield* call("POST", base, {
            key: tenant.keys.OWNER,
            text: JSON.stringify({ url: rabbitUrl("x"), eventTypes: ["tap.created"] }),
            contentType: "text/plain"
          })
          expect(wrongType.status).toBeGreaterThanOrEqual(400)
          expect(wrongType.status).toBeLessThan(500)
          expect((yield* ok(yield* call("GET", base, { key: tenant.keys.OWNER }), 200)).body).toEqual([])
        })
    )
  }
)
