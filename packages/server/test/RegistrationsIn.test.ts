import { randomUUID } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import type { Organization } from "@tapline/domain"
import { startNatsServer } from "@tapline/testing/natsServer"
import { sharedRabbit } from "@tapline/testing/sharedBrokers"
import {
  Cause,
  ConfigProvider,
  Context,
  Deferred,
  Effect,
  Either,
  Exit,
  HashMap,
  Layer,
  Logger,
  LogLevel,
  Ref,
  Scope
} from "effect"
import { Audit } from "../src/Audit/Audit.js"
import type { ReceivedMessage } from "../src/Brokers/Broker.js"
import { parseBrokerUrl } from "../src/Brokers/BrokerConfig.js"
import * as Brokers from "../src/Brokers/providers.js"
import { ReadModelStore } from "../src/ReadModel/ReadModelStore.js"
import { Intake, type SourceScope } from "../src/Registrations/Intake.js"
import { routes } from "../src/Registrations/RegistrationConfig.js"
import * as RegistrationConsumers from "../src/Registrations/RegistrationConsumers.js"
import { RegistrationRepository } from "../src/Registrations/RegistrationRepository.js"
import { RegistrationSources } from "../src/Registrations/RegistrationSources.js"
import { Metrics } from "../src/Telemetry/Metrics.js"
import { makeEvent, makeOrganization } from "./support/Fixtures.js"
import { eventually } from "./support/HotPathHarness.js"
import { serviceHarnessWith } from "./support/ServiceHarness.js"

/*
 * Issue 32, item 3: registrations in from real RabbitMQ and NATS JetStream brokers into a real PostgreSQL.
 * A registration creates or updates the band and is acknowledged only after the commit; a message id applies
 * once; another organisation's event and every kind of poison message become dead letters with a reason while
 * the next message goes through; a consumer dying between commit and ack registers nobody twice.
 */

type Kind = "rabbitmq" | "nats"

class BrokerServer extends Context.Tag("test/RegistrationBroker")<
  BrokerServer,
  { readonly kind: Kind; readonly url: string }
>() {}

// RabbitMQ: the run's shared node (exchanges of the test's own). NATS: a private server, since a test here
// deletes every stream on it (one stream may hold `tapline.>` at a time).
const brokerServer = (kind: Kind) =>
  Layer.scoped(
    BrokerServer,
    kind === "rabbitmq"
      ? Effect.map(
          Effect.promise(() => sharedRabbit()),
          (server) => ({ kind, url: server.url })
        )
      : Effect.map(
          Effect.acquireRelease(
            Effect.promise(() => startNatsServer()),
            (server) => Effect.promise(() => server.dispose())
          ),
          (server) => ({ kind, url: server.url })
        )
  )

const setup = (kind: Kind) =>
  Layer.mergeAll(
    Intake.Default,
    RegistrationSources.Default,
    RegistrationRepository.Default,
    brokerServer(kind)
  ).pipe(
    Layer.provideMerge(Audit.Default),
    Layer.provideMerge(serviceHarnessWith({ OUTBOUND_ALLOW: "127.0.0.1" }))
  )

/** A broker target of the test's own: a RabbitMQ exchange, or a NATS stream made afresh (a ticketing system's). */
const target = (kind: Kind, url: string) =>
  Effect.gen(function* () {
    const name = `REG_${randomUUID().slice(0, 8)}`
    if (kind === "nats") {
      yield* Effect.promise(async () => {
        const nc = await connect({ servers: url })
        const jsm = await jetstreamManager(nc)
        // One stream may hold `tapline.>` at a time: the previous test's goes.
        for await (const stream of jsm.streams.list()) await jsm.streams.delete(stream.config.name)
        await jsm.streams.add({ name, subjects: ["tapline.>"] })
        await nc.close()
      })
    }
    return Either.getOrThrow(parseBrokerUrl(`${url}/${name}`))
  })

const cloudEvent = (type: string, id: string, data: unknown) =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: "/tickets",
    type,
    datacontenttype: "application/json",
    data
  })

const registered = (id: string, eventId: string, bandUid: string, name: string) =>
  cloudEvent("tapline.band.registered", id, {
    bandUid,
    eventId,
    registrant: { name, email: `${bandUid.toLowerCase()}@example.com` }
  })

/** A broker message as a ticketing system publishes it; `brokerId` differs from the CloudEvent's on purpose. */
const message = (organization: Organization, body: string, brokerId = randomUUID()) => ({
  id: brokerId,
  type: body.includes("band.unregistered") ? "tapline.band.unregistered" : "tapline.band.registered",
  key: brokerId,
  organizationSlug: organization.slug,
  body
})

const bandOf = (eventId: string, bandUid: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ id: string; registrantName: string | null; registrantEmail: string | null }>`
      select b.id, r.name as registrant_name, r.email as registrant_email from bands b
      left join registrants r on r.band_id = b.id where b.event_id = ${eventId} and b.band_uid = ${bandUid}`
  ).pipe(Effect.map((rows) => rows))

const deadLetters = (sourceKey: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ messageId: string | null; reason: string; body: string; bodyBytes: number }>`
      select message_id, reason, body, body_bytes from registration_dead_letters
      where source_key = ${sourceKey} order by id`
  )

const auditOf = (bandId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ action: string; actorType: string }>`
      select action, actor_type from audit_log where resource_id = ${bandId} order by id`
  )

/** Publishes until `done`: a consumer starting beside the test declares its queue when it gets to it. */
const publishUntil = <A>(
  publish: Effect.Effect<unknown, unknown>,
  check: Effect.Effect<A, unknown, SqlClient.SqlClient>,
  done: (a: A) => boolean
) =>
  Effect.gen(function* () {
    for (let attempt = 0; ; attempt++) {
      yield* Effect.orDie(publish)
      const value = yield* eventually(check, done, 2_000)
      if (done(value) || attempt >= 30) return value
    }
  })

const WRONG_PASSWORD = "wr0ng-Pa55word"
const logs: Array<string> = []
const collect = Logger.make(({ annotations, cause, message }) => {
  logs.push(
    JSON.stringify({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }) +
      (Cause.isEmpty(cause) ? "" : Cause.pretty(cause))
  )
})

const tenantScope = (organization: Organization): SourceScope => ({
  key: `source:${randomUUID()}`,
  allows: (owner) => owner.organizationId === organization.id
})

const suite = (kind: Kind) =>
  describe(`registrations in from ${kind}`, () => {
    layer(setup(kind), { excludeTestServices: true, timeout: 120_000 })((it) => {
      it.scoped(
        "applies a registration once, after its commit; poison messages become dead letters, the rest go on",
        () =>
          Effect.gen(function* () {
            const server = yield* BrokerServer
            const sql = yield* SqlClient.SqlClient
            const endpoint = yield* target(kind, server.url)
            const mine = yield* makeOrganization()
            const other = yield* makeOrganization()
            const event = yield* makeEvent(mine)
            const othersEvent = yield* makeEvent(other)
            yield* sql`insert into bands (organization_id, event_id, band_uid)
              values (${mine.id}, ${event.id}, 'KNOWN-1')`
            const scope = tenantScope(mine)
            yield* Effect.forkScoped(RegistrationConsumers.run(endpoint, scope, randomUUID().slice(0, 8)))
            const publisher = yield* Brokers.publisher(endpoint)
            // The consumer declares its queue once started, and a topic exchange keeps nothing for a queue
            // bound later: the first registration is published until it lands (the same CloudEvent each time).
            const first = message(mine, registered(randomUUID(), event.id, "NEW-1", "Ada Lovelace"))
            const created = yield* publishUntil(
              publisher.publish([message(mine, first.body)]),
              bandOf(event.id, "NEW-1"),
              (rows) => rows.length === 1
            )
            expect(created[0]).toMatchObject({
              registrantName: "Ada Lovelace",
              registrantEmail: "new-1@example.com"
            })

            const again = JSON.parse(first.body).id as string
            const deep = `${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`
            const poisons = [
              registered(randomUUID(), othersEvent.id, "THEIRS-1", "Mallory"),
              "{ not json",
              `{"type":"tapline.band.registered","pad":"${"x".repeat(1_000_000)}"}`,
              deep,
              registered(randomUUID(), event.id, "CTRL-1", "Bad\u0000\u001bName")
            ]
            yield* publisher.publish([
              // The same CloudEvent again under a new broker id: NATS cannot drop it; the message log does.
              message(mine, first.body),
              message(mine, registered(randomUUID(), event.id, "KNOWN-1", "Grace Hopper")),
              ...poisons.map((body) => message(mine, body))
            ])
            const letters = yield* eventually(deadLetters(scope.key), (rows) => rows.length >= 5, 60_000)
            yield* eventually(
              bandOf(event.id, "KNOWN-1"),
              (rows) => rows[0]?.registrantName === "Grace Hopper"
            )
            // The next good message still goes through.
            yield* publisher.publish([
              message(mine, registered(randomUUID(), event.id, "AFTER-1", "Katherine Johnson")),
              message(
                mine,
                cloudEvent("tapline.band.unregistered", randomUUID(), { bandUid: "NEW-1", eventId: event.id })
              )
            ])
            yield* eventually(bandOf(event.id, "AFTER-1"), (rows) => rows.length === 1, 60_000)
            const released = yield* eventually(
              bandOf(event.id, "NEW-1"),
              (rows) => rows[0]?.registrantName === null
            )

            // The new band is in the redirect's read model, with its id and event.
            const store = yield* ReadModelStore
            const projected = yield* Effect.promise(() => store.orgAndBand(mine.id, "NEW-1"))
            expect(projected.bands).toEqual([
              expect.objectContaining({ bandId: created[0]!.id, eventId: event.id })
            ])
            // Unregistered: the band stays, its registrant goes.
            expect(released).toEqual([{ id: created[0]!.id, registrantName: null, registrantEmail: null }])
            expect((yield* auditOf(created[0]!.id)).map((row) => row.action)).toEqual([
              "band.registered",
              "band.unregistered"
            ])
            expect((yield* bandOf(othersEvent.id, "THEIRS-1")).length).toBe(0)
            const reasons = (yield* deadLetters(scope.key)).map((row) => row.reason)
            expect(reasons).toHaveLength(5)
            expect(reasons).toEqual(
              expect.arrayContaining([
                expect.stringMatching(/is not one this source may register for/),
                expect.stringMatching(/not JSON/),
                expect.stringMatching(/1000\d+ bytes, at most 65536/),
                expect.stringMatching(/nests deeper than 16/),
                expect.stringMatching(/control characters/)
              ])
            )
            for (const letter of letters) {
              expect(letter.body.length).toBeLessThanOrEqual(4096)
              expect(letter.reason.length).toBeLessThanOrEqual(500)
            }
            expect(Math.max(...letters.map((row) => row.bodyBytes))).toBeGreaterThan(1_000_000)
            const logged = yield* sql<{ n: string }>`
              select count(*) as n from registration_messages where source_key = ${scope.key} and message_id = ${again}`
            expect(Number(logged[0]!.n)).toBe(1)
          })
      )

      const crashes = kind === "rabbitmq" ? (["dies", "is killed"] as const) : (["dies"] as const)
      for (const crash of crashes) {
        it.scoped(`a consumer that ${crash} between commit and ack registers nobody twice`, () =>
          Effect.gen(function* () {
            const server = yield* BrokerServer
            const intake = yield* Intake
            const endpoint = yield* target(kind, server.url)
            const mine = yield* makeOrganization()
            const event = yield* makeEvent(mine)
            const scope = tenantScope(mine)
            const settings = routes(randomUUID().slice(0, 8))
            const committed = yield* Deferred.make<void>()
            const deliveries = yield* Ref.make(0)
            const handled = yield* Ref.make(0)
            // The first delivery commits, then its consumer dies (a defect) or hangs until it is killed.
            const handle = (received: ReceivedMessage) =>
              Effect.gen(function* () {
                const n = yield* Ref.updateAndGet(deliveries, (count) => count + 1)
                const outcome = yield* intake.handle(scope)(received)
                if (n === 1) {
                  yield* Deferred.succeed(committed, undefined)
                  return yield* crash === "dies" ? Effect.die("crashed after the commit") : Effect.never
                }
                yield* Ref.update(handled, (count) => count + 1)
                return outcome
              })
            const consumerScope = yield* Scope.make()
            const broker = yield* Scope.extend(Brokers.consumer(endpoint, settings), consumerScope)
            yield* Scope.extend(broker.consume(handle), consumerScope)
            const publisher = yield* Brokers.publisher(endpoint)
            yield* publisher.publish([
              message(mine, registered(randomUUID(), event.id, "ONCE-1", "Edsger Dijkstra"))
            ])
            yield* Deferred.await(committed)
            // Committed, not yet acknowledged: the band is there for everyone to see.
            const band = yield* bandOf(event.id, "ONCE-1")
            expect(band).toHaveLength(1)
            if (crash === "is killed") {
              yield* Scope.close(consumerScope, Exit.void)
              const restarted = yield* Brokers.consumer(endpoint, settings)
              yield* restarted.consume(handle)
            }
            yield* eventually(Ref.get(handled), (n) => n >= 1, 60_000)
            expect(yield* Ref.get(deliveries)).toBe(2)
            expect(yield* bandOf(event.id, "ONCE-1")).toHaveLength(1)
            expect((yield* auditOf(band[0]!.id)).map((row) => row.action)).toEqual(["band.registered"])
            if (crash === "dies") yield* Scope.close(consumerScope, Exit.void)
          })
        )
      }

      it.scoped("a database failure is redelivered, not a dead letter", () =>
        Effect.gen(function* () {
          const server = yield* BrokerServer
          const sql = yield* SqlClient.SqlClient
          const intake = yield* Intake
          const endpoint = yield* target(kind, server.url)
          const mine = yield* makeOrganization()
          const event = yield* makeEvent(mine)
          const scope = tenantScope(mine)
          const deliveries = yield* Ref.make(0)
          const broker = yield* Brokers.consumer(endpoint, routes(randomUUID().slice(0, 8)))
          yield* broker.consume((received) =>
            Effect.zipRight(
              Ref.update(deliveries, (n) => n + 1),
              intake.handle(scope)(received)
            )
          )
          // A table PostgreSQL cannot find fails every transaction, as an outage would, until it is back.
          yield* sql`alter table registration_messages rename to registration_messages_away`
          const restore = sql`alter table if exists registration_messages_away rename to registration_messages`
          yield* Effect.addFinalizer(() => Effect.orDie(restore))
          const publisher = yield* Brokers.publisher(endpoint)
          yield* publisher.publish([
            message(mine, registered(randomUUID(), event.id, "LATER-1", "Alan Turing"))
          ])
          yield* eventually(Ref.get(deliveries), (n) => n >= 2, 60_000)
          expect(yield* bandOf(event.id, "LATER-1")).toHaveLength(0)
          yield* restore
          yield* eventually(bandOf(event.id, "LATER-1"), (rows) => rows.length === 1, 60_000)
          expect(yield* deadLetters(scope.key)).toHaveLength(0)
        })
      )

      if (kind === "nats")
        it.scoped("dead letters and message ids past REGISTRATION_KEEP_DAYS are pruned", () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const repository = yield* RegistrationRepository
            const key = `source:${randomUUID()}`
            yield* sql`insert into registration_dead_letters (source_key, reason, body, body_bytes, received_at)
              values (${key}, 'old', '{}', 2, now() - interval '31 days'), (${key}, 'new', '{}', 2, now())`
            yield* sql`insert into registration_messages (source_key, message_id, processed_at)
              values (${key}, 'old', now() - interval '31 days'), (${key}, 'new', now())`
            const removed = yield* repository.prune(30)
            expect(removed.deadLetters).toBeGreaterThanOrEqual(1)
            expect((yield* deadLetters(key)).map((row) => row.reason)).toEqual(["new"])
            const ids = yield* sql<{ messageId: string }>`
              select message_id from registration_messages where source_key = ${key}`
            expect(ids.map((row) => row.messageId)).toEqual(["new"])
          })
        )

      if (kind === "nats")
        it.scoped("band.registered carries a phone, a locale and consent per channel (issue 33)", () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const intake = yield* Intake
            const mine = yield* makeOrganization()
            const event = yield* makeEvent(mine)
            const scope = tenantScope(mine)
            const body = (bandUid: string, registrant: object) =>
              cloudEvent("tapline.band.registered", randomUUID(), { bandUid, eventId: event.id, registrant })
            const receive = (text: string) =>
              intake.handle(scope)({ id: undefined, body: text, redeliveries: 0 })
            const at = "2026-11-02T10:00:00Z"
            const outcome = yield* receive(
              body("PH-1", {
                name: "Ada Lovelace",
                email: "ada@example.com",
                phone: "+44 7911 123456",
                locale: "en-gb",
                consent: {
                  email: { granted: true, at, wording: "News by email." },
                  sms: { granted: false, at }
                }
              })
            )
            expect(outcome).toBe("registered")
            const [person] = yield* sql<{ phone: string; locale: string; source: string; id: string }>`
              select r.id, r.phone, r.locale, r.source from registrants r join bands b on b.id = r.band_id
              where b.event_id = ${event.id} and b.band_uid = 'PH-1'`
            expect(person).toMatchObject({ phone: "+447911123456", locale: "en-GB", source: "broker" })
            const consents = yield* sql`select channel, granted, source, wording from registrant_consents
              where registrant_id = ${person!.id} order by channel`
            expect(consents).toEqual([
              { channel: "email", granted: true, source: "broker", wording: "News by email." },
              { channel: "sms", granted: false, source: "broker", wording: null }
            ])
            // Refused with a reason naming the field: a bad phone, a locale, a granted consent without wording.
            for (const registrant of [
              { name: "A", email: "a@example.com", phone: "07911 123456" },
              { name: "A", email: "a@example.com", phone: "+44 7911 123456\u0000" },
              { name: "A", email: "a@example.com", locale: "not a locale" },
              { name: "A", email: "a@example.com", consent: { sms: { granted: true, at } } }
            ]) {
              expect(yield* receive(body("PH-2", registrant))).toBe("dead letter")
            }
            const reasons = (yield* deadLetters(scope.key)).map((row) => row.reason)
            expect(reasons.map((reason) => reason.split(":")[0])).toEqual([
              "data.registrant.phone",
              "data.registrant.phone",
              "data.registrant.locale",
              "data.registrant.consent.sms"
            ])
            // The audit names what changed, never a value.
            const audit = yield* sql<{ newValues: unknown }>`
              select new_values from audit_log where organization_id = ${mine.id} and action = 'band.registered'`
            expect(JSON.stringify(audit)).not.toMatch(/Ada|ada@|7911/)
          })
        )

      if (kind === "nats")
        it.scoped(
          "every outcome is counted in tapline_registrations_total, dead letters too, no organisation label",
          () =>
            Effect.gen(function* () {
              const intake = yield* Intake
              const metrics = yield* Metrics
              const mine = yield* makeOrganization()
              const event = yield* makeEvent(mine)
              const scope = tenantScope(mine)
              const read = (outcome: string) =>
                Effect.promise(async () => {
                  const metric = await metrics.registry.getSingleMetric("tapline_registrations_total")?.get()
                  return metric?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0
                })
              const receive = (text: string) =>
                intake.handle(scope)({ id: randomUUID(), body: text, redeliveries: 0 })
              const before = { registered: yield* read("registered"), dead: yield* read("dead_letter") }
              expect(yield* receive(registered(randomUUID(), event.id, "MET-1", "Grace Hopper"))).toBe(
                "registered"
              )
              expect(yield* receive("{ not json")).toBe("dead letter")
              expect(yield* receive(registered(randomUUID(), randomUUID(), "MET-2", "Nobody"))).toBe(
                "dead letter"
              )
              // Other tests of this file run beside this one: at least ours were counted.
              expect((yield* read("registered")) - before.registered).toBeGreaterThanOrEqual(1)
              expect((yield* read("dead_letter")) - before.dead).toBeGreaterThanOrEqual(2)
              const text = yield* Effect.promise(() =>
                metrics.registry.getSingleMetricAsString("tapline_registrations_total")
              )
              expect(text).not.toContain(mine.id)
              expect(text).not.toContain("organization")
            })
        )

      if (kind === "rabbitmq")
        it.scoped(
          "runs platform sources from config with their allow-list, and organisations' sources from the API",
          () =>
            Effect.gen(function* () {
              const server = yield* BrokerServer
              const sources = yield* RegistrationSources
              const platformEndpoint = yield* target(kind, server.url)
              const tenantEndpoint = yield* target(kind, server.url)
              const [bySlug, byId, outside] = yield* Effect.all([
                makeOrganization(),
                makeOrganization(),
                makeOrganization()
              ])
              const [slugEvent, idEvent, outsideEvent] = yield* Effect.all([
                makeEvent(bySlug),
                makeEvent(byId),
                makeEvent(outside)
              ])
              const tenantUrl = `${server.url}/${tenantEndpoint.target}`
              const source = yield* sources.create(outside.id, {
                name: "box-office",
                url: tenantUrl,
                enabled: true
              })
              expect(source.url).not.toContain("guest")
              // Refused by the broker: its consumer fails and logs why, never with the password.
              const wrong = tenantUrl.replace("guest:guest", `guest:${WRONG_PASSWORD}`)
              yield* sources.create(outside.id, { name: "wrong-password", url: wrong, enabled: true })
              expect(JSON.stringify(yield* sources.list(outside.id))).not.toContain("guest:guest")
              const config = ConfigProvider.fromMap(
                new Map([
                  ["REGISTRATION_SOURCES", "tickets"],
                  ["REGISTRATION_TICKETS_URL", `${server.url}/${platformEndpoint.target}`],
                  ["REGISTRATION_TICKETS_ORGANIZATIONS", `${bySlug.slug}, ${byId.id}`],
                  ["REGISTRATION_SOURCES_REFRESH", "1 second"]
                ])
              )
              yield* Layer.build(
                RegistrationConsumers.layer.pipe(Layer.provide(Layer.setConfigProvider(config)))
              )
              const platform = yield* Brokers.publisher(platformEndpoint)
              const tenant = yield* Brokers.publisher(tenantEndpoint)
              yield* publishUntil(
                platform.publish([message(bySlug, registered(randomUUID(), slugEvent.id, "SLUG-1", "Ann"))]),
                bandOf(slugEvent.id, "SLUG-1"),
                (rows) => rows.length === 1
              )
              yield* platform.publish([
                message(byId, registered(randomUUID(), idEvent.id, "ID-1", "Bob")),
                message(outside, registered(randomUUID(), outsideEvent.id, "OUT-1", "Eve"))
              ])
              yield* eventually(bandOf(idEvent.id, "ID-1"), (rows) => rows.length === 1, 30_000)
              const refused = yield* eventually(
                deadLetters("platform:tickets"),
                (rows) => rows.length >= 1,
                30_000
              )
              expect(refused.map((row) => row.reason)).toEqual([
                `event ${outsideEvent.id} is not one this source may register for`
              ])
              // The organisation's own source applies its own registrations only.
              yield* publishUntil(
                tenant.publish([message(outside, registered(randomUUID(), outsideEvent.id, "OUT-2", "Eve"))]),
                bandOf(outsideEvent.id, "OUT-2"),
                (rows) => rows.length === 1
              )
              expect(yield* bandOf(outsideEvent.id, "OUT-1")).toHaveLength(0)
              yield* tenant.publish([
                message(bySlug, registered(randomUUID(), slugEvent.id, "SLUG-2", "Ann"))
              ])
              yield* eventually(deadLetters(`source:${source.id}`), (rows) => rows.length >= 1, 30_000)
              expect(yield* bandOf(slugEvent.id, "SLUG-2")).toHaveLength(0)
              const page = yield* sources.deadLetters(outside.id, source.id, { limit: 10 })
              expect(page.items.map((item) => item.reason)).toEqual([
                `event ${slugEvent.id} is not one this source may register for`
              ])
              yield* eventually(
                Effect.sync(() => logs.filter((line) => line.includes("stopped")).length),
                (n) => n >= 1,
                30_000
              )
              expect(logs.join("\n")).toContain("ACCESS_REFUSED")
              expect(logs.join("\n")).not.toContain(WRONG_PASSWORD)
              expect(logs.join("\n")).not.toContain("guest:guest")
            }).pipe(
              Effect.provide(Logger.replace(Logger.defaultLogger, collect)),
              Logger.withMinimumLogLevel(LogLevel.All)
            )
        )
    })
  })

suite("rabbitmq")
suite("nats")
