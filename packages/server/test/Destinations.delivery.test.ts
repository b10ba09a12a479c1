import * as Net from "node:net"
import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect as natsConnect } from "@nats-io/transport-node"
import { type NatsServer, startNatsServer } from "@tapline/testing/natsServer"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { CloudEvent } from "cloudevents"
import { Cause, Effect, Layer, Logger, Schedule } from "effect"
import { Connection } from "rabbitmq-client"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness, TAP_DOMAIN } from "./support/AdminHarness.js"
import { request } from "./support/HotPathHarness.js"

/*
 * Organisations' broker destinations delivering through the one outbox, against real brokers: the machine's
 * RabbitMQ (an exchange and a capture queue of each test's own) and a private NATS JetStream. Taps and
 * events arrive as CloudEvents the reference `cloudevents` package accepts, routed by the organisation's
 * slug; one organisation's destination never receives another's; a broker that never answers holds only its
 * own organisation's slots; refused credentials are retried, then the destination is disabled, audited and
 * mailed to its owners, with no credential in any answer.
 */

const RABBIT = "127.0.0.1:5672"
const rabbit = new Connection(`amqp://guest:guest@${RABBIT}`)
const nats: NatsServer = await startNatsServer()
const smtp = await startSmtpPeer()
/** A broker that takes connections and never says a word: every attempt to it waits for its timeout. */
const silentSockets = new Set<Net.Socket>()
const silent = Net.createServer((socket) => {
  silentSockets.add(socket)
  socket.on("error", () => {})
})
const consumers: Array<{ close: () => Promise<void> }> = []
await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
const silentPort = (silent.address() as Net.AddressInfo).port
afterAll(async () => {
  for (const socket of silentSockets) socket.destroy()
  await Promise.all(consumers.map((consumer) => consumer.close()))
  await rabbit.close()
  await nats.dispose()
  await smtp.stop()
  silent.close()
})

/** Every line the server logs, with its annotations and cause: no credential may be among them. */
const logs: Array<string> = []
const collect = Logger.make(({ annotations, cause, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  const annotated = [...annotations].map(([key, value]) => `${key}=${String(value)}`)
  logs.push([...parts.map(String), ...annotated, Cause.isEmpty(cause) ? "" : Cause.pretty(cause)].join(" "))
})

const unique = () => Math.random().toString(36).slice(2, 8)

/** An exchange (as the destination declares it) with a queue bound to all of it, declared before any publish. */
const captureQueue = async (exchange: string) => {
  const queue = `${exchange}.capture`
  await rabbit.exchangeDeclare({ exchange, type: "topic", durable: true })
  await rabbit.queueDeclare({ queue, durable: false, autoDelete: false, exclusive: false })
  await rabbit.queueBind({ exchange, queue, routingKey: "#" })
  const received: Array<{ routingKey: string; body: string }> = []
  const consumer = rabbit.createConsumer({ queue, noAck: true }, (message) => {
    received.push({ routingKey: message.routingKey, body: String(message.body) })
  })
  consumers.push(consumer)
  return { received }
}

/** Every message of a NATS stream (empty while the stream does not exist). */
const natsMessages = async (stream: string) => {
  const nc = await natsConnect({ servers: nats.url })
  try {
    const jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info(stream).catch(() => undefined)
    const all: Array<{ subject: string; body: string }> = []
    for (let seq = 1; info !== undefined && seq <= info.state.last_seq; seq++) {
      const stored = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined)
      if (stored !== undefined && stored !== null)
        all.push({ subject: stored.subject, body: stored.string() })
    }
    return all
  } finally {
    await nc.close()
  }
}

const waitFor = <A>(read: () => Promise<A>, until: (value: A) => boolean, what: string) =>
  Effect.promise(read).pipe(
    Effect.filterOrFail(until, () => new Error(`waiting for ${what}`)),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeout("45 seconds")
  )

/** Parsed and validated by the reference implementation (its constructor throws on a bad attribute). */
const cloudEvent = (body: string) => new CloudEvent(JSON.parse(body)) as CloudEvent<Record<string, unknown>>

const destination = (tenant: Tenant, url: string, eventTypes: ReadonlyArray<string>) =>
  Effect.map(
    Effect.flatMap(
      call("POST", `/api/v1/organizations/${tenant.orgId}/destinations`, {
        key: tenant.keys.OWNER,
        body: { url, eventTypes }
      }),
      (reply) => ok(reply, 201, "create destination")
    ),
    (reply) => reply.body.id as string
  )

const tap = (tenant: Tenant, band: string) =>
  Effect.flatMap(AdminServer, ({ port }) =>
    Effect.flatMap(request(port, `/e?bandId=${band}`, { host: `${tenant.slug}.${TAP_DOMAIN}` }), (reply) =>
      reply.status === 302 ? Effect.void : Effect.dieMessage(`tap answered ${reply.status}`)
    )
  )

layer(
  adminHarness(
    {
      WEBHOOK_RETRY_DELAYS: "1 second,1 second",
      WEBHOOK_POLL_INTERVAL: "50 millis",
      WEBHOOK_TIMEOUT: "20 seconds",
      WEBHOOK_ENDPOINT_CONCURRENCY: "2",
      WEBHOOK_ORGANIZATION_CONCURRENCY: "3",
      QUOTA_TEST_PINGS_PER_MINUTE: "100",
      EMAIL_PROVIDERS: "smtp",
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_RETRY_DELAY_SECONDS: "1"
    },
    { role: "all" }
  ).pipe(Layer.provide(Logger.replace(Logger.defaultLogger, collect))),
  { excludeTestServices: true, timeout: 120_000 }
)("destinations delivery", (it) => {
  it.effect(
    "taps and events reach RabbitMQ and NATS as CloudEvents routed by slug; another organisation's never do",
    () =>
      Effect.gen(function* () {
        const admin = yield* bootstrapKey()
        const a = yield* createTenant(admin)
        const b = yield* createTenant(admin)
        const exchangeA = `dest-a-${unique()}`
        const exchangeB = `dest-b-${unique()}`
        const captureA = yield* Effect.promise(() => captureQueue(exchangeA))
        const captureB = yield* Effect.promise(() => captureQueue(exchangeB))
        const streamA = `DEST_${unique()}`
        // A test ping needs no subscription: it goes to the destination pressed.
        const types = ["tap.created", "event.status_changed"]
        const rabbitA = yield* destination(a, `amqp://guest:guest@${RABBIT}/${exchangeA}`, types)
        const natsA = yield* destination(a, `${nats.url}/${streamA}`, types)
        yield* destination(b, `amqp://guest:guest@${RABBIT}/${exchangeB}`, types)

        const { eventId } = yield* liveEvent(a, ["DA-1", "DA-2"], "Destination show")
        yield* liveEvent(b, ["DB-1"], "Other show")
        for (const band of ["DA-1", "DA-2"]) yield* tap(a, band)
        yield* tap(b, "DB-1")
        const ping = yield* ok(
          yield* call("POST", `/api/v1/organizations/${a.orgId}/destinations/${natsA}/test`, {
            key: a.keys.OWNER
          }),
          202
        )

        const tapsOf = (bodies: ReadonlyArray<string>) =>
          bodies.map(cloudEvent).filter((event) => event.type === "tapline.tap.created")
        const rabbitGot = yield* waitFor(
          async () => captureA.received,
          (got) =>
            tapsOf(got.map((m) => m.body)).length >= 2 &&
            got.some((m) => cloudEvent(m.body).type === "tapline.event.status_changed"),
          "organisation A's taps and status change in RabbitMQ"
        )
        const natsGot = yield* waitFor(
          () => natsMessages(streamA),
          (got) =>
            tapsOf(got.map((m) => m.body)).length >= 2 &&
            got.some((m) => cloudEvent(m.body).type === "tapline.webhook.test"),
          "organisation A's taps and test ping in NATS"
        )
        for (const event of tapsOf(rabbitGot.map((m) => m.body))) {
          expect(event).toMatchObject({ specversion: "1.0", source: `/organizations/${a.orgId}` })
          expect(["DA-1", "DA-2"]).toContain(event.subject)
          expect(event.data).toMatchObject({ eventId, bandUid: event.subject, isBot: false })
          expect(event.id).toBe(event.data?.id)
        }
        expect(rabbitGot.find((m) => cloudEvent(m.body).type === "tapline.tap.created")?.routingKey).toBe(
          `tap.created.${a.slug}`
        )
        const status = cloudEvent(rabbitGot.find((m) => m.body.includes("event.status_changed"))!.body)
        expect(status.data).toMatchObject({ eventId, to: "ACTIVE" })
        // The test ping went to the destination pressed, not to the organisation's RabbitMQ.
        const pinged = natsGot.find((m) => m.body.includes("tapline.webhook.test"))!
        expect(pinged.subject).toBe(`tapline.${a.slug}.webhook.test`)
        expect(cloudEvent(pinged.body).id).toBe(ping.body.messageId)
        expect(rabbitGot.some((m) => m.body.includes("tapline.webhook.test"))).toBe(false)
        for (const m of natsGot) expect(m.subject.startsWith(`tapline.${a.slug}.`)).toBe(true)

        // Organisation B's destination has B's tap; A's have nothing of B's.
        const bGot = yield* waitFor(
          async () => captureB.received,
          (got) => tapsOf(got.map((m) => m.body)).length >= 1,
          "organisation B's tap"
        )
        expect(tapsOf(bGot.map((m) => m.body)).map((e) => e.subject)).toEqual(["DB-1"])
        const everythingOfA = [
          ...captureA.received.map((m) => m.body),
          ...(yield* Effect.promise(() => natsMessages(streamA))).map((m) => m.body)
        ]
        for (const body of everythingOfA) {
          expect(body).not.toContain(b.orgId)
          expect(body).not.toContain("DB-1")
        }

        // What the destination's page says of it: delivered messages counted per tap, nothing pending.
        const shown = yield* call("GET", `/api/v1/organizations/${a.orgId}/destinations/${rabbitA}`, {
          key: a.keys.OWNER
        }).pipe(
          Effect.filterOrFail((reply) => reply.body.delivered >= 3 && reply.body.pending === 0),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeout("30 seconds")
        )
        expect(shown.body).toMatchObject({ lastError: null, failingSince: null, enabled: true })
        expect(shown.body.lastDeliveredAt).not.toBeNull()
      }),
    110_000
  )

  it.effect(
    "a broker that never answers holds only its organisation's slots: another organisation's ping arrives meanwhile",
    () =>
      Effect.gen(function* () {
        const admin = yield* bootstrapKey()
        const flooder = yield* createTenant(admin)
        const victim = yield* createTenant(admin)
        const hung = yield* destination(flooder, `amqp://guest:guest@127.0.0.1:${silentPort}/hung`, [
          "export.ready"
        ])
        for (let n = 0; n < 12; n++) {
          yield* ok(
            yield* call("POST", `/api/v1/organizations/${flooder.orgId}/destinations/${hung}/test`, {
              key: flooder.keys.OWNER
            }),
            202
          )
        }
        const exchange = `dest-v-${unique()}`
        const capture = yield* Effect.promise(() => captureQueue(exchange))
        const fine = yield* destination(victim, `amqp://guest:guest@${RABBIT}/${exchange}`, ["export.ready"])
        yield* ok(
          yield* call("POST", `/api/v1/organizations/${victim.orgId}/destinations/${fine}/test`, {
            key: victim.keys.OWNER
          }),
          202
        )
        yield* waitFor(
          async () => capture.received,
          (got) => got.length >= 1,
          "the victim's ping"
        )
        // The flooder's messages are still waiting on their broker: nothing of them was settled.
        const flooded = yield* ok(
          yield* call("GET", `/api/v1/organizations/${flooder.orgId}/destinations/${hung}`, {
            key: flooder.keys.OWNER
          }),
          200
        )
        expect(flooded.body.pending).toBe(12)
        expect(flooded.body.delivered).toBe(0)
      }),
    90_000
  )

  it.effect("a changed URL takes effect at the next message: the kept connection follows the URL", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const base = `/api/v1/organizations/${tenant.orgId}/destinations`
      const first = `dest-first-${unique()}`
      const second = `dest-second-${unique()}`
      const captureFirst = yield* Effect.promise(() => captureQueue(first))
      const captureSecond = yield* Effect.promise(() => captureQueue(second))
      const id = yield* destination(tenant, `amqp://guest:guest@${RABBIT}/${first}`, ["export.ready"])
      yield* ok(yield* call("POST", `${base}/${id}/test`, { key: tenant.keys.OWNER }), 202)
      yield* waitFor(
        async () => captureFirst.received,
        (got) => got.length >= 1,
        "the ping at the first exchange"
      )
      yield* ok(
        yield* call("PATCH", `${base}/${id}`, {
          key: tenant.keys.OWNER,
          body: { url: `amqp://guest:guest@${RABBIT}/${second}` }
        }),
        200
      )
      yield* ok(yield* call("POST", `${base}/${id}/test`, { key: tenant.keys.OWNER }), 202)
      yield* waitFor(
        async () => captureSecond.received,
        (got) => got.length >= 1,
        "the ping at the second exchange"
      )
      expect(captureFirst.received).toHaveLength(1)
    })
  )

  it.effect(
    "refused credentials are retried, then the destination is disabled, audited and mailed; redrive requeues",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const base = `/api/v1/organizations/${tenant.orgId}/destinations`
        const owner = `owner-${unique()}@example.com`
        const sql = yield* SqlClient.SqlClient
        const [user] = yield* sql<{
          id: string
        }>`insert into users (email, name) values (${owner}, 'Owner') returning id`
        yield* sql`insert into memberships (user_id, organization_id, role) values (${user!.id}, ${tenant.orgId}, 'OWNER')`
        const password = `wrong-${unique()}-password`
        const id = yield* destination(tenant, `amqp://guest:${password}@${RABBIT}/refused-${unique()}`, [
          "export.ready"
        ])
        yield* ok(yield* call("POST", `${base}/${id}/test`, { key: tenant.keys.OWNER }), 202)

        const disabled = yield* call("GET", `${base}/${id}`, { key: tenant.keys.OWNER }).pipe(
          Effect.filterOrFail((reply) => reply.body.enabled === false),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeout("60 seconds")
        )
        expect(disabled.body.disabledReason).toMatch(/^every delivery failed since/)
        expect(disabled.body.lastError).toContain("ACCESS_REFUSED")
        expect(disabled.body.failingSince).not.toBeNull()
        const log = yield* ok(yield* call("GET", `${base}/${id}/deliveries`, { key: tenant.keys.OWNER }), 200)
        expect(log.body.items[0]).toMatchObject({ status: "failed", attempts: 3 })
        const mail = yield* Effect.promise(() => smtp.lastMailTo(owner, 30_000))
        expect(mail.subject).toBe(`[Org ${tenant.slug}] Destination disabled`)
        expect(mail.text).toContain(`/destinations/${id}`)
        const audit = yield* ok(
          yield* call("GET", `/api/v1/organizations/${tenant.orgId}/audit?resourceType=destination`, {
            key: tenant.keys.OWNER
          }),
          200
        )
        expect(audit.text).toContain("destination.disable")
        // The operator's log tells the refusal and the disabling, never the password.
        expect(logs.some((line) => line.includes("broker destination disabled"))).toBe(true)
        for (const text of [disabled.text, log.text, audit.text, mail.text ?? "", mail.html || "", ...logs]) {
          expect(text).not.toContain(password)
        }

        yield* ok(
          yield* call("PATCH", `${base}/${id}`, { key: tenant.keys.OWNER, body: { enabled: true } }),
          200
        )
        const redriven = yield* ok(
          yield* call("POST", `${base}/${id}/redrive`, { key: tenant.keys.OWNER }),
          202
        )
        expect(redriven.body).toEqual({ requeued: 1 })
        const again = yield* ok(yield* call("POST", `${base}/${id}/redrive`, { key: tenant.keys.OWNER }), 202)
        expect(again.body.requeued).toBe(0)
      }),
    90_000
  )
})
