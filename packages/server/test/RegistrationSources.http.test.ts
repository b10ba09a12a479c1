import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Registration sources through the admin API: an OWNER creates, lists, gets, updates and removes them; the
 * broker URL's credentials are sealed and never answered, audited or stored in clear; malformed input is a
 * 400 naming the field, a taken name a 409; a host the outbound policy refuses is refused when saved.
 */

const PASSWORD = "s3cret-Pa55word"

layer(adminHarness(), { excludeTestServices: true, timeout: 120_000 })("registration sources API", (it) => {
  it.effect("an OWNER manages sources; the credentials never come back", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      const key = tenant.keys.OWNER
      const base = `/api/v1/organizations/${tenant.orgId}/registration-sources`
      // The discard port, disabled: nothing consumes it during the test.
      const url = `amqp://tickets:${PASSWORD}@127.0.0.1:9/ticketing`
      const created = yield* ok(
        yield* call("POST", base, { key, body: { name: "box-office", url, enabled: false } }),
        201,
        "create"
      )
      expect(created.body).toMatchObject({
        name: "box-office",
        kind: "rabbitmq",
        url: "amqp://127.0.0.1:9/ticketing",
        enabled: false
      })
      const id = created.body.id as string
      const listed = yield* ok(yield* call("GET", base, { key }), 200, "list")
      const got = yield* ok(yield* call("GET", `${base}/${id}`, { key }), 200, "get")
      const updated = yield* ok(
        yield* call("PATCH", `${base}/${id}`, {
          key,
          body: { url: `nats://tix:${PASSWORD}@127.0.0.1:9/TICKETS` }
        }),
        200,
        "update"
      )
      expect(updated.body).toMatchObject({ kind: "nats", url: "nats://127.0.0.1:9/TICKETS", enabled: false })
      const letters = yield* ok(
        yield* call("GET", `${base}/${id}/dead-letters`, { key }),
        200,
        "dead letters"
      )
      expect(letters.body).toEqual({ items: [], nextCursor: null })
      for (const reply of [created, listed, got, updated]) expect(reply.text).not.toContain(PASSWORD)

      // Sealed at rest, and the audit keeps the source as the API shows it.
      const sql = yield* SqlClient.SqlClient
      const stored = yield* sql<{ urlSealed: string; urlShown: string }>`
        select url_sealed, url_shown from registration_sources where id = ${id}`
      expect(stored[0]!.urlSealed).not.toContain(PASSWORD)
      const audited = yield* sql<{ action: string; values: string }>`
        select action, coalesce(old_values::text, '') || coalesce(new_values::text, '') as values
        from audit_log where resource_id = ${id} order by id`
      expect(audited.map((row) => row.action)).toEqual([
        "registration_source.create",
        "registration_source.update"
      ])
      for (const row of audited) expect(row.values).not.toContain(PASSWORD)

      yield* ok(yield* call("DELETE", `${base}/${id}`, { key }), 204, "remove")
      yield* ok(yield* call("GET", `${base}/${id}`, { key }), 404, "gone")
    })
  )

  it.effect("malformed input is a 400 naming the field; a taken name is a 409", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey("admin2@example.com")
      const tenant = yield* createTenant(admin)
      const key = tenant.keys.OWNER
      const base = `/api/v1/organizations/${tenant.orgId}/registration-sources`
      const good = { name: "tickets", url: "amqp://127.0.0.1:9/x", enabled: false }
      const refused: ReadonlyArray<readonly [unknown, RegExp]> = [
        [{ ...good, url: "https://example.com/hook" }, /amqp/],
        [{ ...good, url: "amqp://127.0.0.1:9/x\r\nX: y" }, /control characters/],
        [{ ...good, url: `amqp://u:${PASSWORD}@127.0.0.1:99999/x` }, /host:port/],
        [{ ...good, url: "kafka://127.0.0.1:9/topic" }, /use kafka\+tls:\/\//],
        // Every Kafka host is a bootstrap broker: each one is vetted, not only the first.
        [{ ...good, url: "kafka+tls://127.0.0.1:9,10.1.2.3:9/topic" }, /private/],
        [{ ...good, url: "amqp://10.1.2.3/x" }, /private/],
        [{ ...good, name: "Tickets!" }, /name/],
        [{ ...good, name: "x".repeat(40) }, /name/],
        [{ url: good.url }, /name/],
        ["not an object", /./]
      ]
      for (const [body, reason] of refused) {
        const reply = yield* call("POST", base, { key, body })
        expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(400)
        expect(reply.text).toMatch(reason)
        expect(reply.text).not.toContain(PASSWORD)
      }
      const broken = yield* call("POST", base, { key, text: "{ not json", contentType: "application/json" })
      expect(broken.status).toBe(400)
      yield* ok(yield* call("POST", base, { key, body: good }), 201, "create")
      yield* ok(yield* call("POST", base, { key, body: good }), 409, "the same name")
      const kafka = { name: "kafka-tls", url: "kafka+tls://127.0.0.1:9/topic", enabled: false }
      yield* ok(yield* call("POST", base, { key, body: kafka }), 201, "Kafka over TLS")
      const notUuid = yield* call("GET", `${base}/not-a-uuid`, { key })
      expect(notUuid.status).toBe(400)
    })
  )
})
