import { randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, expect, layer } from "@effect/vitest"
import { Consumer, MessagesStreamModes, stringDeserializers } from "@platformatic/kafka"
import { sharedKafka } from "@tapline/testing/sharedBrokers"
import { CloudEvent } from "cloudevents"
import { Effect, Schedule } from "effect"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness, TAP_DOMAIN } from "./support/AdminHarness.js"
import { request } from "./support/HotPathHarness.js"
import { startRebindingDns } from "./support/RebindingDns.js"

/*
 * An organisation's Kafka over TLS, against a real broker with three TLS listeners: one advertised under a
 * name that resolves to 127.0.0.2 (allowed here by OUTBOUND_ALLOW), one under a name that resolves to
 * 127.0.0.1 (loopback, not allowed), one as the address 127.0.0.1 itself. The broker's self-signed
 * certificate names all three and is trusted through BROKER_CA_FILE, so only the vetting stands between the
 * client and a refused address: every host the client connects to, bootstrap or advertised, is checked.
 */

// The run's Kafka (shared with other files that never stop it): its listeners are GOOD, BAD and 127.0.0.1.
const kafka = await sharedKafka()
const tls = kafka.tls
const [GOOD, BAD] = [tls.names[0]!, tls.names[1]!]
const good = await startRebindingDns(GOOD, ["127.0.0.2"])
const bad = await startRebindingDns(BAD, ["127.0.0.1"])
const caFile = Path.join(Os.tmpdir(), `tapline-kafka-ca-${process.pid}.pem`)
Fs.writeFileSync(caFile, tls.ca)
afterAll(async () => {
  await bad.close()
  await good.close()
  Fs.rmSync(caFile, { force: true })
})

/** Every message of `topic` so far, through the plaintext listener (a bare client, not our module). */
const readTopic = async (topic: string) => {
  const consumer = new Consumer({
    clientId: "destinations-kafka",
    bootstrapBrokers: [kafka.bootstrap],
    groupId: `read-${randomUUID()}`,
    deserializers: stringDeserializers,
    maxWaitTime: 200
  })
  try {
    const ends = (await consumer.listOffsets({ topics: [topic] }).catch(() => undefined))?.get(topic) ?? []
    if (ends.every((end) => end === 0n)) return []
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false
    })
    const read: Array<{ key: string; value: string }> = []
    const last = new Map<number, bigint>()
    stream.on("data", (m) => {
      read.push({ key: m.key, value: m.value })
      last.set(m.partition, m.offset)
    })
    while (!ends.every((end, p) => end === 0n || (last.get(p) ?? -1n) + 1n >= end)) {
      await new Promise((r) => setTimeout(r, 100))
    }
    await stream.close()
    return read
  } finally {
    await consumer.close(true)
  }
}

const destination = (tenant: Tenant, url: string) =>
  Effect.map(
    Effect.flatMap(
      call("POST", `/api/v1/organizations/${tenant.orgId}/destinations`, {
        key: tenant.keys.OWNER,
        body: { url, eventTypes: ["tap.created"] }
      }),
      (reply) => ok(reply, 201, "create destination")
    ),
    (reply) => reply.body.id as string
  )

const ping = (tenant: Tenant, id: string) =>
  Effect.flatMap(
    call("POST", `/api/v1/organizations/${tenant.orgId}/destinations/${id}/test`, { key: tenant.keys.OWNER }),
    (reply) => ok(reply, 202, "test ping")
  )

const tap = (tenant: Tenant, band: string) =>
  Effect.flatMap(AdminServer, ({ port }) =>
    Effect.flatMap(request(port, `/e?bandId=${band}`, { host: `${tenant.slug}.${TAP_DOMAIN}` }), (reply) =>
      reply.status === 302 ? Effect.void : Effect.dieMessage(`tap answered ${reply.status}`)
    )
  )

/** The destination's page once it has an error (the dispatcher tried once: the next try is an hour away). */
const failed = (tenant: Tenant, id: string) =>
  call("GET", `/api/v1/organizations/${tenant.orgId}/destinations/${id}`, { key: tenant.keys.OWNER }).pipe(
    Effect.filterOrFail((reply) => reply.body.lastError !== null),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeout("60 seconds")
  )

layer(
  adminHarness(
    {
      OUTBOUND_ALLOW: "127.0.0.2",
      BROKER_CA_FILE: caFile,
      WEBHOOK_RETRY_DELAYS: "1 hour",
      WEBHOOK_POLL_INTERVAL: "50 millis",
      WEBHOOK_TIMEOUT: "20 seconds",
      QUOTA_TEST_PINGS_PER_MINUTE: "100"
    },
    { role: "all" }
  ),
  { excludeTestServices: true, timeout: 180_000 }
)("organisations' Kafka over TLS", (it) => {
  it.effect(
    "a tap and a test ping reach the topic as CloudEvents keyed by band, through the vetted name",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("kafka-tls@example.com"))
        const topic = `dest-${randomUUID()}`
        const id = yield* destination(tenant, `kafka+tls://${GOOD}:${tls.ports[0]}/${topic}`)
        yield* liveEvent(tenant, ["DK-1"], "Kafka show")
        yield* tap(tenant, "DK-1")
        yield* ping(tenant, id)
        const got = yield* Effect.promise(() => readTopic(topic)).pipe(
          Effect.filterOrFail(
            (all) => all.length >= 2,
            () => new Error("waiting for the tap and the ping")
          ),
          Effect.retry(Schedule.spaced("200 millis")),
          Effect.timeout("60 seconds")
        )
        const events = got.map((m) => ({ key: m.key, event: new CloudEvent(JSON.parse(m.value)) }))
        const tapped = events.find((e) => e.event.type === "tapline.tap.created")!
        expect(tapped.key).toBe("DK-1")
        expect(tapped.event.subject).toBe("DK-1")
        expect(tapped.event.source).toContain(tenant.orgId)
        expect(events.some((e) => e.event.type === "tapline.webhook.test")).toBe(true)
        const page = yield* call("GET", `/api/v1/organizations/${tenant.orgId}/destinations/${id}`, {
          key: tenant.keys.OWNER
        })
        expect(page.body.lastError).toBeNull()
      })
  )

  it.effect(
    "an advertised broker at a refused address is refused when connecting; nothing is delivered",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("kafka-tls-refused@example.com"))
        // Listener 1 advertises BAD (→ 127.0.0.1), listener 2 the address 127.0.0.1: both reached through GOOD.
        for (const port of [tls.ports[1]!, tls.ports[2]!]) {
          const topic = `refused-${randomUUID()}`
          const id = yield* destination(tenant, `kafka+tls://${GOOD}:${port}/${topic}`)
          yield* ping(tenant, id)
          const page = yield* failed(tenant, id)
          expect(page.body.lastError).toContain("loopback, private")
          expect(page.body.lastError).not.toContain("127.0.0.1")
          expect(page.body.delivered).toBe(0)
          expect(yield* Effect.promise(() => readTopic(topic))).toEqual([])
        }
      })
  )

  it.effect("plaintext Kafka is a 400 saying why", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("kafka-plain@example.com"))
      const reply = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/destinations`, {
        key: tenant.keys.OWNER,
        body: { url: `kafka://${GOOD}:${tls.ports[0]}/plain`, eventTypes: ["tap.created"] }
      })
      expect(reply.status).toBe(400)
      expect(reply.text).toContain("kafka+tls://")
    })
  )
})
