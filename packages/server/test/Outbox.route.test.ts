import { randomUUID } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import type { OrganizationId } from "@tapline/domain"
import { Effect, Exit, Layer, Schedule } from "effect"
import { Changes } from "../src/Admin/Changes.js"
import { Audit } from "../src/Audit/Audit.js"
import { SecretBox } from "../src/Crypto/SecretBox.js"
import { EventLifecycle } from "../src/Events/EventLifecycle.js"
import { Mailer } from "../src/Mail/Mailer.js"
import { type Destination, Destinations } from "../src/Outbox/Destination.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"
import { TapStore } from "../src/Taps/TapStore.js"
import * as WebhookDestinations from "../src/Webhooks/Destinations.js"
import * as WebhookDispatcher from "../src/Webhooks/Dispatcher.js"
import { newSecret } from "../src/Webhooks/Signature.js"
import { secretData, urlData } from "../src/Webhooks/Webhooks.js"
import { startCaptureServer } from "./support/CaptureServer.js"
import { serviceHarnessWith } from "./support/ServiceHarness.js"

/*
 * One route for domain events: whatever announces an event (a change through the unit of work, a tap through
 * the writer) writes one outbox message in its own transaction, and every destination reads it from there.
 * A second destination, registered on the seam beside the webhooks, receives exactly what the webhook
 * receiver receives, once each, and nothing of a transaction that rolled back.
 */

const receiver = await startCaptureServer()
receiver.fallback = () => ({ status: 204 })
afterAll(() => receiver.close())

/** What the in-test destination was handed, in order. */
const received: Array<{ messageId: string; eventType: string; data: Record<string, unknown> }> = []

/** Takes the `slack` kind in place of chat: the stored endpoint kinds are the contract's. */
const inTest: Destination = {
  kinds: ["slack"],
  send: (message) =>
    Effect.sync(() => {
      received.push({ messageId: message.id, eventType: message.eventType, data: message.data })
      return { status: 200, error: null }
    })
}

const destinations = Layer.effect(
  Destinations,
  Effect.map(WebhookDestinations.make, ({ webhook }) => [webhook, inTest])
)

const harness = WebhookDispatcher.deliver.pipe(
  Layer.provide(destinations),
  Layer.provideMerge(Layer.mergeAll(TapStore.Default, EventLifecycle.Default, Audit.Default, Mailer.Default)),
  Layer.provideMerge(
    serviceHarnessWith({
      OUTBOUND_ALLOW: "127.0.0.1",
      WEBHOOK_POLL_INTERVAL: "50 millis",
      WEBHOOK_TIMEOUT: "2 seconds",
      TAPLINE_ENCRYPTION_KEYS: `1:${Buffer.alloc(32, 5).toString("base64")}`
    })
  )
)

const tap = (orgId: string, bandUid: string): TapRecord => ({
  id: randomUUID(),
  orgId,
  eventId: null,
  bandId: null,
  bandUid,
  windowId: null,
  mode: null,
  kind: "DEFAULT",
  url: "https://example.com/",
  at: Date.now(),
  ua: null,
  ip: null,
  utm: null,
  bot: false,
  dup: false,
  assign: null
})

const rolledBack = new Error("rolled back on purpose")

/** An organisation with a webhook endpoint (the capture server at `path`) and one for the in-test destination. */
const organizationListening = (types: ReadonlyArray<string>, path: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const secrets = yield* SecretBox
    const [org] = yield* sql<{ id: OrganizationId }>`
      insert into organizations (slug, name) values (${`route-${randomUUID().slice(0, 8)}`}, 'Route')
      returning id`
    const orgId = org!.id
    for (const [kind, url] of [
      ["webhook", `${receiver.url}${path}`],
      ["slack", `https://hooks.slack.com/services/T0/B0${path}`]
    ] as const) {
      yield* sql`
        insert into webhook_endpoints (organization_id, kind, url_sealed, url_shown, event_types, secret_sealed)
        values (${orgId}, ${kind}, ${secrets.encrypt(url, urlData(orgId))}, ${url}, ${types}::text[],
          ${kind === "webhook" ? secrets.encrypt(newSecret(), secretData(orgId)) : null})`
    }
    return orgId
  })

/** Once no delivery of the organisation is pending, every destination has had all it will get. */
const settled = (orgId: OrganizationId) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ pending: string }>`
      select count(*) as pending from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
      where e.organization_id = ${orgId} and d.status = 'pending'`
  ).pipe(
    Effect.filterOrFail((rows) => Number(rows[0]!.pending) === 0),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeout("30 seconds")
  )

layer(harness, { excludeTestServices: true, timeout: 120_000 })("one route for domain events", (it) => {
  it.effect(
    "a second destination receives the band change and tap.created once each, nothing rolled back",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const changes = yield* Changes
        const store = yield* TapStore
        const orgId = yield* organizationListening(["band.assigned", "tap.created"], "/route")
        const reassign = (bandUid: string) =>
          changes.record({
            organizationId: orgId,
            action: "band.reassign",
            resourceType: "band",
            resourceId: randomUUID(),
            oldValues: { eventId: null },
            newValues: { eventId: randomUUID(), bandUid }
          })

        // Rolled back: a recorded change and a stored tap whose transactions fail after writing.
        const undone = [
          changes.transact(Effect.zipRight(reassign("UNDONE"), Effect.fail(rolledBack))),
          sql.withTransaction(Effect.zipRight(store.store([tap(orgId, "UNDONE")]), Effect.fail(rolledBack)))
        ]
        for (const attempt of undone) expect(Exit.isFailure(yield* Effect.exit(attempt))).toBe(true)

        // Committed: one band change, one batch of taps.
        yield* changes.transact(reassign("KEPT"))
        const stored = yield* store.store([tap(orgId, "KEPT-1"), tap(orgId, "KEPT-2")])
        expect(stored.inserted).toBe(2)

        yield* settled(orgId)
        const messages = yield* sql<{ id: string; eventType: string }>`
          select id, event_type from webhook_messages where organization_id = ${orgId} order by id`
        expect(messages.map((m) => m.eventType)).toEqual(["band.assigned", "tap.created"])

        // Deliveries run side by side: what each destination got is compared in the messages' order.
        const byMessage = (a: { messageId: string }, b: { messageId: string }) =>
          a.messageId < b.messageId ? -1 : 1
        const mine = received.filter((r) => messages.some((m) => m.id === r.messageId)).sort(byMessage)
        expect(mine.map((r) => r.messageId)).toEqual(messages.map((m) => m.id))
        expect(mine[0]!.data).toMatchObject({ bands: [{ uid: "KEPT" }], automatic: false })
        expect(
          (mine[1]!.data.taps as ReadonlyArray<{ bandUid: string }>).map((t) => t.bandUid).sort()
        ).toEqual(["KEPT-1", "KEPT-2"])
        const webhooks = receiver.requests
          .filter((r) => r.url === "/route")
          .map((r) => ({ messageId: String(r.headers["webhook-id"]), ...JSON.parse(r.body) }))
          .sort(byMessage)
        expect(webhooks.map((body) => body.messageId)).toEqual(messages.map((m) => m.id))
        expect(webhooks.map((body) => body.type)).toEqual(["band.assigned", "tap.created"])
        expect(webhooks.map((body) => body.data)).toEqual(mine.map((r) => r.data))
        expect(JSON.stringify(received)).not.toContain("UNDONE")
      })
  )

  it.effect("the lifecycle job's move goes through the unit of work: audited as before, announced once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const lifecycle = yield* EventLifecycle
      const orgId = yield* organizationListening(["event.status_changed"], "/lifecycle")
      const [event] = yield* sql<{ id: string }>`
        insert into events (organization_id, name, auto_lifecycle, starts_at)
        values (${orgId}, 'Auto', true, now() - interval '1 hour') returning id`
      yield* lifecycle.advance
      yield* settled(orgId)

      const [message] = yield* sql<{ id: string }>`
        select id from webhook_messages where organization_id = ${orgId} and event_type = 'event.status_changed'`
      const announced = { eventId: event!.id, name: "Auto", from: "DRAFT", to: "ACTIVE", automatic: true }
      expect(received.filter((r) => r.messageId === message!.id).map((r) => r.data)).toEqual([announced])
      const webhook = receiver.requests.filter((r) => r.url === "/lifecycle").map((r) => JSON.parse(r.body))
      expect(webhook.map((body) => body.data)).toEqual([announced])
      const audit = yield* sql<{ action: string; actorType: string; oldValues: unknown; newValues: unknown }>`
        select action, actor_type, old_values, new_values from audit_log where resource_id = ${event!.id}`
      expect(audit).toEqual([
        {
          action: "event.auto_lifecycle",
          actorType: "system",
          oldValues: { status: "DRAFT" },
          newValues: { status: "ACTIVE" }
        }
      ])
    })
  )

  it.effect(
    "a DRAFT event already past its end moves through ACTIVE: two audited moves, two announcements",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const lifecycle = yield* EventLifecycle
        const orgId = yield* organizationListening(["event.status_changed"], "/lifecycle-late")
        const [event] = yield* sql<{ id: string }>`
        insert into events (organization_id, name, auto_lifecycle, starts_at, ends_at)
        values (${orgId}, 'Late', true, now() - interval '3 hours', now() - interval '1 hour') returning id`
        yield* lifecycle.advance
        yield* settled(orgId)

        const [row] = yield* sql<{ status: string }>`select status from events where id = ${event!.id}`
        expect(row!.status).toBe("COMPLETED")
        // One transaction writes both: their ids need not sort in the order they were written.
        const audit = yield* sql<{ oldValues: { status: string }; newValues: { status: string } }>`
        select old_values, new_values from audit_log
        where resource_id = ${event!.id} and action = 'event.auto_lifecycle'`
        expect(audit.map((a) => `${a.oldValues.status}->${a.newValues.status}`).sort()).toEqual([
          "ACTIVE->COMPLETED",
          "DRAFT->ACTIVE"
        ])
        const webhook = receiver.requests
          .filter((r) => r.url === "/lifecycle-late")
          .map((r) => JSON.parse(r.body).data as { from: string; to: string })
          .map(({ from, to }) => `${from}->${to}`)
          .sort()
        expect(webhook).toEqual(["ACTIVE->COMPLETED", "DRAFT->ACTIVE"])
      })
  )
})
