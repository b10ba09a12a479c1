import * as RateLimiter from "@effect/experimental/RateLimiter"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { JourneyMessageRepository } from "../src/Journeys/JourneyMessageRepository.js"
import * as JourneySender from "../src/Journeys/JourneySender.js"
import { Metrics } from "../src/Telemetry/Metrics.js"
import { type PushPeer, pushPeer, type SmsPeer, smsOff, smsPeer } from "./support/ChannelPeers.js"
import { makeEvent, makeOrganization } from "./support/Fixtures.js"
import { serviceHarness } from "./support/ServiceHarness.js"

/*
 * Journeys on SMS and push, driven round by round against PostgreSQL, with stand-ins for the providers behind
 * the `Sms` and `Push` ports that record what they were given and fail as told (ChannelPeers.ts): consent per
 * channel, the skip reasons, a push to every device (a gone one removed), retries and dead letters as email
 * has them, fairness across organisations on SMS, and JOURNEY_SMS_RATE held across two senders.
 */

const SMS_RATE = 50
const settings = (extra: Record<string, string> = {}) =>
  ConfigProvider.fromMap(
    new Map([
      ["JOURNEY_POLL_INTERVAL", "10 millis"],
      ["JOURNEY_SEND_BATCH", "20"],
      ["JOURNEY_ORGANIZATION_CONCURRENCY", "5"],
      ["JOURNEY_SEND_CONCURRENCY", "1"],
      ["JOURNEY_RETRY_DELAYS", "1 hour"],
      ...Object.entries(extra)
    ])
  )

const harness = Layer.mergeAll(JourneyMessageRepository.Default, RateLimiter.layer).pipe(
  Layer.provideMerge(serviceHarness)
)

/** A sender with these providers (none given: the runtime has no such port at all). */
const senderWith = (
  peers: { sms?: Layer.Layer<never, never, never> | SmsPeer["layer"]; push?: PushPeer["layer"] },
  extra: Record<string, string> = {}
) =>
  JourneySender.make.pipe(
    Effect.withConfigProvider(settings(extra)),
    Effect.provide(Layer.mergeAll(peers.sms ?? Layer.empty, peers.push ?? Layer.empty))
  )

type Sender = Effect.Effect.Success<ReturnType<typeof senderWith>>

interface Person {
  readonly phone?: string | null
  /** Consents, oldest first: the last is the state. */
  readonly consents?: ReadonlyArray<readonly ["email" | "sms" | "push", boolean]>
  /** Push devices: Web Push endpoints or FCM tokens. */
  readonly devices?: ReadonlyArray<string>
}

let sequence = 0

/**
 * An organisation's event, a journey on `channel`, and one queued message per person, due a second ago: the
 * sender claims `due_at <= now` with its clock's milliseconds, and a row due at PostgreSQL's microseconds of the
 * same millisecond was not due yet (the test failed on a quiet machine, where insert and claim share one).
 */
const journeyFor = (
  channel: "sms" | "push",
  people: ReadonlyArray<Person>,
  body = "Hi {{name}}: {{windowUrl}}"
) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const organization = yield* makeOrganization()
    const event = yield* makeEvent(organization)
    yield* sql`update events set fallback_url = 'https://fest.example/programme' where id = ${event.id}`
    const [journey] = yield* sql<{ id: string }>`
      insert into journeys (organization_id, event_id, name, trigger, channel, subject, body)
      values (${organization.id}, ${event.id}, 'J', 'first_tap', ${channel}, 'Doors open', ${body})
      returning id`
    const messages: Array<string> = []
    for (const person of people) {
      const [band] = yield* sql<{ id: string }>`
        insert into bands (organization_id, event_id, band_uid)
        values (${organization.id}, ${event.id}, ${`CH-${process.pid}-${++sequence}`}) returning id`
      const [registrant] = yield* sql<{ id: string }>`
        insert into registrants (organization_id, band_id, name, phone, source)
        values (${organization.id}, ${band!.id}, 'Ada', ${person.phone ?? null}, 'api') returning id`
      for (const [c, granted] of person.consents ?? [])
        yield* sql`insert into registrant_consents (registrant_id, channel, granted, at, source)
          values (${registrant!.id}, ${c}, ${granted}, now(), 'api')`
      for (const address of person.devices ?? [])
        yield* address.startsWith("https://")
          ? sql`insert into registrant_push_subscriptions (organization_id, registrant_id, kind, address, p256dh, auth)
              values (${organization.id}, ${registrant!.id}, 'webpush', ${address}, 'BKey', 'auth')`
          : sql`insert into registrant_push_subscriptions (organization_id, registrant_id, kind, address)
              values (${organization.id}, ${registrant!.id}, 'fcm', ${address})`
      const [message] = yield* sql<{ id: string }>`
        insert into journey_messages (organization_id, journey_id, band_id, due_at, unsubscribe_token)
        values (${organization.id}, ${journey!.id}, ${band!.id}, now() - interval '1 second', md5(random()::text))
        returning id`
      messages.push(message!.id)
    }
    return { organizationId: organization.id, journeyId: journey!.id, messages }
  }).pipe(Effect.orDie)

interface Row {
  readonly id: string
  readonly status: string
  readonly reason: string | null
  readonly provider: string | null
  readonly providerMessageId: string | null
  readonly lastError: string | null
  readonly attempts: number
  readonly dueAt: Date
}

const rows = (journeyId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<Row>`
      select id, status, reason, provider, provider_message_id, last_error, attempts, due_at
      from journey_messages where journey_id = ${journeyId} order by id`
  ).pipe(Effect.orDie)

/** Rounds until nothing is left to claim now (every message sent, skipped, dead, or queued for later). */
const drain = (senders: ReadonlyArray<Sender>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 500; i++) {
      const taken = yield* Effect.all(
        senders.map((s) => s.round),
        { concurrency: "unbounded" }
      )
      yield* Effect.all(
        senders.map((s) => s.idle),
        { concurrency: "unbounded" }
      )
      if (taken.every((n) => n === 0)) return
    }
    return yield* Effect.dieMessage("the queue did not drain")
  })

layer(harness, { excludeTestServices: true, timeout: 60_000 })("journeys on SMS and push", (it) => {
  describe("SMS", () => {
    // The sender retries a failed "sent" until it succeeds: an id the column refuses must not hold the message.
    it.scoped(
      "a provider id that cannot be stored (empty, too long, another message's) is left out; all are sent",
      () =>
        Effect.gen(function* () {
          const ids = ["", `DUP-${process.pid}-${++sequence}`, "", "x".repeat(300)]
          ids[2] = ids[1]!
          const peer = smsPeer("twilio", (n) => ids[n - 1]!)
          const sender = yield* senderWith({ sms: peer.layer })
          const consented = { phone: "+15005550006", consents: [["sms", true]] as const }
          const journey = yield* journeyFor("sms", [consented, consented, consented, consented])
          yield* drain([sender])
          const after = yield* rows(journey.journeyId)
          expect(after.map((r) => r.status)).toEqual(["sent", "sent", "sent", "sent"])
          expect(peer.sent).toHaveLength(4)
          expect(after.map((r) => r.providerMessageId).sort()).toEqual([ids[1], null, null, null])
        })
    )

    it.scoped("consented with a phone: sent once, the body only; no phone, withdrawn consent: skipped", () =>
      Effect.gen(function* () {
        const peer = smsPeer()
        const sender = yield* senderWith({ sms: peer.layer })
        const journey = yield* journeyFor("sms", [
          { phone: "+447700900001", consents: [["sms", true]] },
          { phone: null, consents: [["sms", true]] },
          {
            phone: "+447700900003",
            consents: [
              ["sms", true],
              ["sms", false]
            ]
          },
          // Consent to email is not consent to SMS.
          { phone: "+447700900004", consents: [["email", true]] }
        ])
        yield* drain([sender])
        yield* drain([sender])
        const [sent, noPhone, withdrawn, otherChannel] = yield* rows(journey.journeyId)
        expect(sent).toMatchObject({ status: "sent", provider: "twilio", attempts: 1 })
        expect(sent!.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/)
        expect(peer.sent.map((s) => s.message)).toEqual([
          { id: sent!.id, to: "+447700900001", text: "Hi Ada: https://fest.example/programme" }
        ])
        expect(peer.sent[0]!.message.id).toBe(sent!.id)
        expect(noPhone).toMatchObject({ status: "skipped", reason: "no_phone" })
        expect(withdrawn).toMatchObject({ status: "skipped", reason: "no_consent" })
        expect(otherChannel).toMatchObject({ status: "skipped", reason: "no_consent" })
        const metrics = yield* Metrics
        const counted = yield* Effect.promise(() =>
          metrics.registry.getSingleMetricAsString("tapline_journey_messages_total")
        )
        expect(counted).toMatch(/channel="sms",outcome="sent"/)
      })
    )

    it.scoped(
      "no provider configured (an empty list, or no SMS port at all): channel_off, nothing sent",
      () =>
        Effect.gen(function* () {
          for (const peers of [{ sms: smsOff }, {}]) {
            const sender = yield* senderWith(peers)
            const journey = yield* journeyFor("sms", [{ phone: "+447700900011", consents: [["sms", true]] }])
            yield* drain([sender])
            expect(yield* rows(journey.journeyId)).toMatchObject([
              { status: "skipped", reason: "channel_off" }
            ])
          }
        })
    )

    it.scoped("a transient failure is retried later; a permanent one is dead at once", () =>
      Effect.gen(function* () {
        const peer = smsPeer()
        peer.answer("+447700900021", "transient")
        peer.answer("+447700900022", "permanent")
        const sender = yield* senderWith({ sms: peer.layer })
        const journey = yield* journeyFor("sms", [
          { phone: "+447700900021", consents: [["sms", true]] },
          { phone: "+447700900022", consents: [["sms", true]] }
        ])
        yield* drain([sender])
        const [transient, permanent] = yield* rows(journey.journeyId)
        expect(transient).toMatchObject({ status: "queued", attempts: 1, lastError: "transient (test peer)" })
        // JOURNEY_RETRY_DELAYS: an hour.
        expect(transient!.dueAt.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000)
        expect(permanent).toMatchObject({ status: "dead", attempts: 1, lastError: "permanent (test peer)" })
        expect(peer.sent).toHaveLength(0)
      })
    )

    it.scoped(
      "an SMS longer than 1 600 characters once filled in is dead, not split beyond what phones join",
      () =>
        Effect.gen(function* () {
          const peer = smsPeer()
          const sender = yield* senderWith({ sms: peer.layer })
          const sql = yield* SqlClient.SqlClient
          const journey = yield* journeyFor(
            "sms",
            [{ phone: "+447700900031", consents: [["sms", true]] }],
            `${"x".repeat(1590)} {{name}}`
          )
          yield* sql`update registrants set name = ${"N".repeat(40)} where phone = '+447700900031'`
          yield* drain([sender])
          const [row] = yield* rows(journey.journeyId)
          expect(row).toMatchObject({ status: "dead" })
          expect(row!.lastError).toContain("at most 1600")
          expect(peer.sent).toHaveLength(0)
        })
    )
  })

  describe("push", () => {
    it.scoped("every device gets it; a gone one is removed; the message is sent when any took it", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const peer = pushPeer()
        const gone = `https://push.example/gone-${process.pid}`
        peer.answer(gone, "gone")
        const sender = yield* senderWith({ push: peer.layer })
        const journey = yield* journeyFor("push", [
          { consents: [["push", true]], devices: [gone, `fcm-token-${process.pid}-kept`] }
        ])
        yield* drain([sender])
        const [row] = yield* rows(journey.journeyId)
        expect(row).toMatchObject({ status: "sent", provider: "webpush" })
        expect(row!.providerMessageId).toMatch(/^push-[0-9a-f]{16}-1$/)
        expect(peer.sent.map((s) => s.message)).toEqual([
          {
            id: row!.id,
            subscription: { kind: "fcm", token: `fcm-token-${process.pid}-kept` },
            title: "Doors open",
            body: "Hi Ada: https://fest.example/programme",
            url: "https://fest.example/programme"
          }
        ])
        const left = yield* sql<{ address: string; lastSentAt: Date | null }>`
          select address, last_sent_at from registrant_push_subscriptions
          where address in (${gone}, ${`fcm-token-${process.pid}-kept`})`
        expect(left.map((d) => d.address)).toEqual([`fcm-token-${process.pid}-kept`])
        expect(left[0]!.lastSentAt).not.toBeNull()
      })
    )

    it.scoped(
      "every device gone: not sent (no_push_subscription), the devices removed; none at all: the same",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const peer = pushPeer()
          const devices = [`https://push.example/a-${process.pid}`, `https://push.example/b-${process.pid}`]
          for (const d of devices) peer.answer(d, "gone")
          const sender = yield* senderWith({ push: peer.layer })
          const journey = yield* journeyFor("push", [
            { consents: [["push", true]], devices },
            { consents: [["push", true]] },
            { consents: [["push", false]], devices: [`https://push.example/c-${process.pid}`] }
          ])
          yield* drain([sender])
          expect((yield* rows(journey.journeyId)).map((r) => [r.status, r.reason])).toEqual([
            ["skipped", "no_push_subscription"],
            ["skipped", "no_push_subscription"],
            ["skipped", "no_consent"]
          ])
          expect(
            yield* sql`select 1 from registrant_push_subscriptions where address in ${sql.in(devices)}`
          ).toHaveLength(0)
          expect(peer.sent).toHaveLength(0)
        })
    )

    it.scoped("a device failing transiently (none took it): retried later; failing permanently: dead", () =>
      Effect.gen(function* () {
        const peer = pushPeer()
        peer.answer(`fcm-busy-${process.pid}`, "transient")
        peer.answer(`fcm-bad-${process.pid}`, "permanent")
        const sender = yield* senderWith({ push: peer.layer })
        const journey = yield* journeyFor("push", [
          { consents: [["push", true]], devices: [`fcm-busy-${process.pid}`, `fcm-bad-${process.pid}`] },
          { consents: [["push", true]], devices: [`fcm-bad-${process.pid}`] }
        ])
        yield* drain([sender])
        expect((yield* rows(journey.journeyId)).map((r) => r.status)).toEqual(["queued", "dead"])
      })
    )
  })

  describe("fairness and the provider's rate", () => {
    it.scoped("one organisation's SMS backlog does not delay another's first message", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const peer = smsPeer()
        const sender = yield* senderWith({ sms: peer.layer })
        const flood = yield* journeyFor(
          "sms",
          Array.from({ length: 60 }, (_, i) => ({
            phone: `+4477009${String(i).padStart(5, "0")}`,
            consents: [["sms", true]] as const
          }))
        )
        // The flood is older: due a minute before the other organisation's one message.
        yield* sql`update journey_messages set due_at = now() - interval '1 minute' where journey_id = ${flood.journeyId}`
        yield* journeyFor("sms", [{ phone: "+15550000001", consents: [["sms", true]] }])
        yield* sender.round
        yield* sender.idle
        const order = peer.sent.map((s) => (s.message.to === "+15550000001" ? "other" : "flood"))
        // One round: JOURNEY_ORGANIZATION_CONCURRENCY (5) of the flood, and the other's in its first turn.
        expect(order.length).toBeLessThanOrEqual(6)
        expect(order.indexOf("other")).toBeGreaterThanOrEqual(0)
        expect(order.indexOf("other")).toBeLessThan(2)
        // The rest of the backlog is not the next test's.
        yield* sql`delete from journey_messages where journey_id = ${flood.journeyId} and status = 'queued'`
      })
    )

    it.scoped(`JOURNEY_SMS_RATE (${SMS_RATE}/s) holds across two senders`, () =>
      Effect.gen(function* () {
        const peer = smsPeer()
        const options = { JOURNEY_SMS_RATE: String(SMS_RATE), JOURNEY_SEND_CONCURRENCY: "4" }
        const senders = [
          yield* senderWith({ sms: peer.layer }, options),
          yield* senderWith({ sms: peer.layer }, options)
        ]
        const count = 30
        yield* journeyFor(
          "sms",
          Array.from({ length: count }, (_, i) => ({
            phone: `+4477018${String(i).padStart(5, "0")}`,
            consents: [["sms", true]] as const
          }))
        )
        const started = Date.now()
        yield* drain(senders)
        expect(peer.sent.filter((s) => s.message.to.startsWith("+4477018"))).toHaveLength(count)
        // The limiter's accounting: one slot every 1000/rate ms from the first, so the i-th send (0-based) is
        // no earlier than i slots after the sends began. A busy machine only makes them later.
        const slot = Math.ceil(1000 / SMS_RATE)
        const times = peer.sent.map((s) => s.at).sort((a, b) => a - b)
        const early = times.flatMap((at, i) =>
          at + 1 < started + i * slot ? [{ i, after: at - started }] : []
        )
        expect(early).toEqual([])
        // So no second holds more than the rate (and the one slot at its start).
        const busiest = Math.max(...times.map((at) => times.filter((t) => t >= at && t < at + 1000).length))
        expect(busiest).toBeLessThanOrEqual(SMS_RATE + 1)
      })
    )
  })
})
