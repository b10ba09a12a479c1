import { randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import type { Organization } from "@tapline/domain"
import { sharedKafka } from "@tapline/testing/sharedBrokers"
import {
  Cause,
  ConfigProvider,
  Deferred,
  Effect,
  Either,
  HashMap,
  Layer,
  Logger,
  LogLevel,
  Ref
} from "effect"
import { Audit } from "../src/Audit/Audit.js"
import { BrokerError, type ReceivedMessage } from "../src/Brokers/Broker.js"
import { parseBrokerUrl } from "../src/Brokers/BrokerConfig.js"
import * as Brokers from "../src/Brokers/providers.js"
import { Intake, type SourceScope } from "../src/Registrations/Intake.js"
import { routes } from "../src/Registrations/RegistrationConfig.js"
import * as RegistrationConsumers from "../src/Registrations/RegistrationConsumers.js"
import { RegistrationRepository } from "../src/Registrations/RegistrationRepository.js"
import { RegistrationSources } from "../src/Registrations/RegistrationSources.js"
import { makeEvent, makeOrganization } from "./support/Fixtures.js"
import { eventually } from "./support/HotPathHarness.js"
import { startRebindingDns } from "./support/RebindingDns.js"
import { serviceHarnessWith } from "./support/ServiceHarness.js"

/*
 * Issue 32, item 3 on Kafka: registrations in from one real broker. A platform source reads the plaintext
 * listener; an organisation's source reads a TLS listener advertised under a name that resolves to 127.0.0.2
 * (allowed by OUTBOUND_ALLOW), its self-signed certificate trusted only through BROKER_CA_FILE, so the
 * consumer gets there only through the vetting resolver and the CA. Another TLS listener advertises the
 * address 127.0.0.1 (loopback, refused): a source bootstrapping through GOOD to it must never read from it.
 * RabbitMQ and NATS: RegistrationsIn.test.ts.
 */

// The run's Kafka (shared with other files that never stop it): listener 0 is GOOD, listener 2 127.0.0.1.
const kafka = await sharedKafka()
const tls = kafka.tls
const GOOD = tls.names[0]!
const LOOPBACK = 2
const good = await startRebindingDns(GOOD, ["127.0.0.2"])
const caFile = Path.join(Os.tmpdir(), `tapline-kafka-reg-ca-${process.pid}.pem`)
Fs.writeFileSync(caFile, tls.ca)
afterAll(async () => {
  await good.close()
  Fs.rmSync(caFile, { force: true })
})

const setup = Layer.mergeAll(
  Intake.Default,
  RegistrationSources.Default,
  RegistrationRepository.Default
).pipe(
  Layer.provideMerge(Audit.Default),
  Layer.provideMerge(serviceHarnessWith({ OUTBOUND_ALLOW: "127.0.0.2", BROKER_CA_FILE: caFile }))
)

/** A topic of the test's own on the plaintext listener, made by publishing to it (a consumer makes none). */
const plainTopic = () => Either.getOrThrow(parseBrokerUrl(`kafka://${kafka.bootstrap}/reg-${randomUUID()}`))

const registered = (eventId: string, bandUid: string, name: string, id = randomUUID()) =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: "/tickets",
    type: "tapline.band.registered",
    datacontenttype: "application/json",
    data: { bandUid, eventId, registrant: { name, email: `${bandUid.toLowerCase()}@example.com` } }
  })

/**
 * A broker message as a ticketing system publishes it; its broker id differs from the CloudEvent's. Keyed by
 * organisation, so one test's messages share a partition and are read in the order published (keyed by the
 * random id they spread over three partitions, and "the next one applied" said nothing of the ones before).
 */
const message = (organization: Organization, body: string) => {
  const brokerId = randomUUID()
  return {
    id: brokerId,
    type: "tapline.band.registered",
    key: organization.slug,
    organizationSlug: organization.slug,
    body
  }
}

const bandOf = (eventId: string, bandUid: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ id: string; registrantName: string | null }>`
      select b.id, r.name as registrant_name from bands b left join registrants r on r.band_id = b.id
      where b.event_id = ${eventId} and b.band_uid = ${bandUid}`
  )

const deadLetters = (sourceKey: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ reason: string }>`
      select reason from registration_dead_letters where source_key = ${sourceKey} order by id`
  )

const auditOf = (bandId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ action: string }>`select action from audit_log where resource_id = ${bandId} order by id`
  )

/** Per test, generous: a Kafka group join and a few reconnects on a busy machine. */
const CAP = 90_000

const logs: Array<string> = []
const collect = Logger.make(({ annotations, cause, message }) => {
  logs.push(
    JSON.stringify({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }) +
      (Cause.isEmpty(cause) ? "" : Cause.pretty(cause))
  )
})

layer(setup, { excludeTestServices: true, timeout: 120_000 })("registrations in from Kafka", (it) => {
  it.scoped(
    "a platform source applies a CloudEvent once; a poison message is a dead letter, the next applies",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const endpoint = plainTopic()
        const mine = yield* makeOrganization()
        const event = yield* makeEvent(mine)
        const first = registered(event.id, "KNEW-1", "Ada Lovelace")
        const publisher = yield* Brokers.publisher(endpoint)
        // The same CloudEvent twice under two broker ids, a poison, then a good one: in one partition's order.
        yield* publisher.publish([message(mine, first), message(mine, first)])
        yield* publisher.publish([message(mine, "{ not json")])
        yield* publisher.publish([message(mine, registered(event.id, "KAFTER-1", "Grace Hopper"))])
        const scope: SourceScope = {
          key: `platform:kafka-${randomUUID().slice(0, 8)}`,
          allows: (owner) => owner.slug === mine.slug
        }
        yield* Effect.forkScoped(RegistrationConsumers.run(endpoint, scope, scope.key.slice(9)))
        yield* eventually(bandOf(event.id, "KAFTER-1"), (rows) => rows.length === 1, 60_000)
        const band = yield* bandOf(event.id, "KNEW-1")
        expect(band).toEqual([{ id: expect.any(String), registrantName: "Ada Lovelace" }])
        expect((yield* auditOf(band[0]!.id)).map((row) => row.action)).toEqual(["band.registered"])
        const logged = yield* sql<{ n: string }>`select count(*) as n from registration_messages
        where source_key = ${scope.key} and message_id = ${JSON.parse(first).id}`
        expect(Number(logged[0]!.n)).toBe(1)
        const letters = yield* eventually(deadLetters(scope.key), (rows) => rows.length >= 1, 30_000)
        expect(letters.map((row) => row.reason)).toEqual([expect.stringMatching(/not JSON/)])
      }),
    CAP
  )

  it.scoped(
    "an organisation's kafka+tls:// source, vetted and trusted via BROKER_CA_FILE, applies its own",
    () =>
      Effect.gen(function* () {
        const sources = yield* RegistrationSources
        const [mine, other] = yield* Effect.all([makeOrganization(), makeOrganization()])
        const [event, othersEvent] = yield* Effect.all([makeEvent(mine), makeEvent(other)])
        const endpoint = plainTopic()
        const url = `kafka+tls://${GOOD}:${tls.ports[0]}/${endpoint.target}`
        // Plaintext Kafka and a refused second bootstrap host are 400s saying why.
        const plain = yield* Effect.flip(
          sources.create(mine.id, { name: "plain", url: `kafka://${GOOD}:9092/t`, enabled: true })
        )
        expect(plain.message).toContain("kafka+tls://")
        const second = yield* Effect.flip(
          sources.create(mine.id, {
            name: "second",
            url: `kafka+tls://${GOOD}:9093,10.0.0.1:9093/t`,
            enabled: true
          })
        )
        expect(second.message).toMatch(/loopback, private/)
        const source = yield* sources.create(mine.id, { name: "box-office", url, enabled: true })
        // Through GOOD to the listener advertising 127.0.0.1: bootstrap allowed, the advertised broker refused.
        const refusedEndpoint = plainTopic()
        const refused = yield* sources.create(mine.id, {
          name: "advertised-loopback",
          url: `kafka+tls://${GOOD}:${tls.ports[LOOPBACK]}/${refusedEndpoint.target}`,
          enabled: true
        })
        yield* Effect.flatMap(Brokers.publisher(refusedEndpoint), (p) =>
          p.publish([message(mine, registered(event.id, "KLOOP-1", "Mallory"))])
        )
        const publisher = yield* Brokers.publisher(endpoint)
        yield* publisher.publish([
          message(other, registered(othersEvent.id, "KTHEIRS-1", "Mallory")),
          message(mine, registered(event.id, "KTLS-1", "Katherine Johnson"))
        ])
        const config = ConfigProvider.fromMap(new Map([["REGISTRATION_SOURCES_REFRESH", "1 second"]]))
        yield* Layer.build(RegistrationConsumers.layer.pipe(Layer.provide(Layer.setConfigProvider(config))))
        const band = yield* eventually(bandOf(event.id, "KTLS-1"), (rows) => rows.length === 1, 60_000)
        expect(band[0]!.registrantName).toBe("Katherine Johnson")
        const letters = yield* eventually(
          deadLetters(`source:${source.id}`),
          (rows) => rows.length >= 1,
          30_000
        )
        expect(letters.map((row) => row.reason)).toEqual([
          `event ${othersEvent.id} is not one this source may register for`
        ])
        expect(yield* bandOf(othersEvent.id, "KTHEIRS-1")).toHaveLength(0)
        const stopped = (line: string) =>
          line.includes(`source:${refused.id}`) && line.includes("loopback, private")
        yield* eventually(
          Effect.sync(() => logs.filter(stopped)),
          (found) => found.length >= 1,
          60_000
        )
        expect(logs.filter(stopped).join("\n")).not.toContain(`127.0.0.1:${tls.ports[LOOPBACK]}`)
        expect(yield* bandOf(event.id, "KLOOP-1")).toHaveLength(0)
        // The consumer row itself refuses plaintext Kafka once vetting is asked (a row older than the API check).
        const plaintext = yield* Effect.flip(
          Effect.scoped(
            Brokers.consumer(endpoint, {
              ...routes("plain"),
              vetting: { resolve: async () => "", refuses: () => undefined }
            })
          )
        )
        expect(plaintext).toBeInstanceOf(BrokerError)
        expect((plaintext as BrokerError).failure).toBe("permanent")
      }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, collect)),
        Logger.withMinimumLogLevel(LogLevel.All)
      ),
    CAP
  )

  it.scoped(
    "a handler that dies after the commit is redelivered as a no-op",
    () =>
      Effect.gen(function* () {
        const intake = yield* Intake
        const endpoint = plainTopic()
        const mine = yield* makeOrganization()
        const event = yield* makeEvent(mine)
        const scope: SourceScope = {
          key: `source:${randomUUID()}`,
          allows: (owner) => owner.organizationId === mine.id
        }
        const committed = yield* Deferred.make<void>()
        const deliveries = yield* Ref.make(0)
        const handled = yield* Ref.make(0)
        const handle = (received: ReceivedMessage) =>
          Effect.gen(function* () {
            const n = yield* Ref.updateAndGet(deliveries, (count) => count + 1)
            const outcome = yield* intake.handle(scope)(received)
            if (n === 1) {
              yield* Deferred.succeed(committed, undefined)
              return yield* Effect.die("crashed after the commit")
            }
            yield* Ref.update(handled, (count) => count + 1)
            return outcome
          })
        const publisher = yield* Brokers.publisher(endpoint)
        yield* publisher.publish([message(mine, registered(event.id, "KONCE-1", "Edsger Dijkstra"))])
        const broker = yield* Brokers.consumer(endpoint, routes(randomUUID().slice(0, 8)))
        yield* broker.consume(handle)
        yield* Deferred.await(committed)
        // Committed, not yet acknowledged: the band is there already.
        const band = yield* bandOf(event.id, "KONCE-1")
        expect(band).toHaveLength(1)
        yield* eventually(Ref.get(handled), (n) => n >= 1, 60_000)
        expect(yield* Ref.get(deliveries)).toBe(2)
        expect(yield* bandOf(event.id, "KONCE-1")).toHaveLength(1)
        expect((yield* auditOf(band[0]!.id)).map((row) => row.action)).toEqual(["band.registered"])
      }),
    CAP
  )
})
