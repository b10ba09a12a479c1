import * as NodeContext from "@effect/platform-node/NodeContext"
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { migrate } from "../src/Database/Database.js"
import { migrations } from "../src/Database/migrations/index.js"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { EmptyDatabase } from "./support/TestDatabase.js"

/*
 * The audit log keeps what changed, never a credential: a webhook's or chat channel's sealed URL and signing
 * secrets are named "changed", not copied (ciphertext in the log outlives a key rotation and leaves with
 * every audit export). Entries written before that rule are redacted by a migration.
 */

/** SecretBox's sealed form: `v<key>.<iv>.<body>`, base64url. */
const SEALED = /v\d+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{20,}/

describe("audit values carry no secrets", () => {
  layer(adminHarness(), { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect("webhook and chat channel changes are audited without URL ciphertext or secrets", () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("audit-secrets@example.com"))
        const key = tenant.keys.OWNER
        const base = `/api/v1/organizations/${tenant.orgId}/webhooks`
        const hook = yield* ok(
          yield* call("POST", base, {
            key,
            body: { url: "http://127.0.0.1:9/receiver-one", eventTypes: ["export.ready"] }
          }),
          201
        )
        const chatUrl = "http://127.0.0.1:9/services/T0001/B0001/chat-token-one"
        const channel = yield* ok(
          yield* call("POST", base, {
            key,
            body: { kind: "slack", url: chatUrl, eventTypes: ["export.ready"] }
          }),
          201
        )
        const hookId = hook.body.endpoint.id as string
        const channelId = channel.body.endpoint.id as string
        const newChatUrl = "http://127.0.0.1:9/services/T0001/B0001/chat-token-two"
        yield* ok(
          yield* call("PATCH", `${base}/${hookId}`, { key, body: { url: "http://127.0.0.1:9/two" } }),
          200
        )
        yield* ok(yield* call("PATCH", `${base}/${channelId}`, { key, body: { url: newChatUrl } }), 200)
        yield* ok(yield* call("PATCH", `${base}/${hookId}`, { key, body: { description: "renamed" } }), 200)
        const rotated = yield* ok(
          yield* call("POST", `${base}/${hookId}/rotate-secret`, { key, body: {} }),
          200
        )
        yield* ok(yield* call("DELETE", `${base}/${channelId}`, { key }), 204)

        const audit = yield* ok(
          yield* call("GET", `/api/v1/organizations/${tenant.orgId}/audit?resourceType=webhook&limit=100`, {
            key
          }),
          200
        )
        const csv = yield* ok(
          yield* call("GET", `/api/v1/organizations/${tenant.orgId}/audit/export?resourceType=webhook`, {
            key
          }),
          200
        )
        const entries = audit.body.items as ReadonlyArray<{
          action: string
          resourceId: string
          oldValues: Record<string, unknown> | null
          newValues: Record<string, unknown> | null
        }>
        expect(entries.map((e) => e.action).sort()).toEqual(
          [
            "webhook.create",
            "webhook.create",
            "webhook.update",
            "webhook.update",
            "webhook.update",
            "webhook.rotate_secret",
            "webhook.delete"
          ].sort()
        )
        for (const text of [audit.text, csv.text]) {
          expect(text).not.toMatch(SEALED)
          for (const secret of [hook.body.secret, rotated.body.secret, chatUrl, newChatUrl]) {
            expect(text).not.toContain(secret)
          }
        }
        // What changed is still said: a new URL (sealed) is "changed", a description shows as it is.
        const updates = entries.filter((e) => e.action === "webhook.update")
        expect(updates.find((e) => e.resourceId === channelId)?.newValues).toMatchObject({
          urlSealed: "changed"
        })
        expect(updates.find((e) => e.resourceId === hookId && e.newValues?.url !== undefined)).toBeDefined()
        const renamed = updates.find((e) => e.newValues?.description === "renamed")
        expect(renamed?.newValues).not.toHaveProperty("urlSealed")
        expect(renamed?.oldValues).toMatchObject({ description: "" })
        expect(entries.find((e) => e.action === "webhook.rotate_secret")?.newValues).toMatchObject({
          secretSealed: "changed"
        })
      })
    )
  })
})

const migrateUpTo = (last: number) =>
  PgMigrator.run({
    loader: Migrator.fromRecord(
      Object.fromEntries(Object.entries(migrations).filter(([key]) => Number.parseInt(key, 10) <= last))
    )
  }).pipe(Effect.provide(NodeContext.layer))

describe("audit entries written before the rule", () => {
  layer(EmptyDatabase, { excludeTestServices: true })((it) => {
    it.effect("are redacted by a migration: ciphertext removed, a changed one named, the rest kept", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* migrateUpTo(12)
        const sealed = (n: number) => `v1.${"A".repeat(15)}${n}.${"B".repeat(40)}${n}`
        // As versions up to 0012 wrote a webhook.update (whole rows, before and after) and other entries.
        const before = {
          id: "w1",
          kind: "slack",
          urlSealed: sealed(1),
          urlShown: "https://hooks.slack.com/…",
          secretSealed: null,
          previousSecretSealed: null,
          description: ""
        }
        const after = { ...before, urlSealed: sealed(2), description: "renamed" }
        const signed = {
          ...before,
          kind: "webhook",
          secretSealed: sealed(3),
          previousSecretSealed: sealed(4)
        }
        yield* sql`insert into audit_log (actor_type, action, resource_type, resource_id, old_values, new_values)
          values ('system', 'webhook.update', 'webhook', 'w1', ${JSON.stringify(before)}::jsonb,
            ${JSON.stringify(after)}::jsonb),
          ('system', 'webhook.update', 'webhook', 'w2', ${JSON.stringify(signed)}::jsonb,
            ${JSON.stringify({ ...signed, enabled: false })}::jsonb),
          ('system', 'event.update', 'event', 'e1', ${JSON.stringify({ urlSealed: "kept" })}::jsonb, null)`
        yield* migrate
        const rows = yield* sql<{
          resourceId: string
          oldValues: Record<string, unknown> | null
          newValues: Record<string, unknown> | null
        }>`select resource_id, old_values, new_values from audit_log order by resource_id`
        expect(JSON.stringify(rows)).not.toMatch(SEALED)
        const [event, w1, w2] = rows
        expect(event!.oldValues).toEqual({ urlSealed: "kept" })
        expect(w1!.oldValues).toEqual({
          id: "w1",
          kind: "slack",
          urlShown: "https://hooks.slack.com/…",
          description: ""
        })
        expect(w1!.newValues).toEqual({
          id: "w1",
          kind: "slack",
          urlShown: "https://hooks.slack.com/…",
          description: "renamed",
          urlSealed: "changed"
        })
        expect(w2!.newValues).toEqual({
          id: "w1",
          kind: "webhook",
          urlShown: "https://hooks.slack.com/…",
          description: "",
          enabled: false
        })
        const [redaction] = yield* sql<{ newValues: { entries: number } }>`
          select new_values from audit_log where action = 'audit.redact'`
        expect(redaction?.newValues.entries).toBe(2)
        // The log stays append-only after the migration.
        const refused = yield* Effect.either(sql`update audit_log set action = 'x'`)
        expect(refused._tag).toBe("Left")
      })
    )
  })
})

describe("outbound refusals written before the rule", () => {
  layer(EmptyDatabase, { excludeTestServices: true })((it) => {
    it.effect(
      "say the category only after migration 0015, in the log, the last error and the disable reason",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* migrateUpTo(14)
          const leaked =
            "refused by the outbound policy: hook.example resolves to 10.0.0.7, a private address"
          const [org] = yield* sql<{ id: string }>`
          insert into organizations (slug, name) values ('scrub', 'Scrub') returning id`
          const [endpoint] = yield* sql<{ id: string }>`
          insert into webhook_endpoints (organization_id, kind, url_sealed, url_shown, event_types, enabled,
            disabled_reason)
          values (${org!.id}, 'webhook', 'sealed', 'https://hook.example/…', '{}', false,
            ${`failing since yesterday (${leaked})`}) returning id`
          const [message] = yield* sql<{ id: string }>`
          insert into webhook_messages (organization_id, event_type, payload)
          values (${org!.id}, 'webhook.test', '{}') returning id`
          yield* sql`insert into webhook_deliveries (endpoint_id, message_id, status, last_error)
          values (${endpoint!.id}, ${message!.id}, 'failed', ${leaked})`
          yield* sql`insert into webhook_attempts (endpoint_id, message_id, response_ms, error)
          values (${endpoint!.id}, ${message!.id}, 3, ${leaked}), (${endpoint!.id}, ${message!.id}, 3, 'HTTP 500')`
          yield* migrate
          const texts = yield* sql<{ text: string }>`
          select disabled_reason as text from webhook_endpoints
          union all select last_error from webhook_deliveries
          union all select error from webhook_attempts`
          expect(texts.map((row) => row.text).sort()).toEqual([
            "HTTP 500",
            "failing since yesterday (refused by the outbound policy)",
            "refused by the outbound policy",
            "refused by the outbound policy"
          ])
        })
    )
  })
})
