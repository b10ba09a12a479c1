import * as RateLimiter from "@effect/experimental/RateLimiter"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { type SmtpPeer, startSmtpPeer } from "@tapline/testing/smtpPeer"
import { ConfigProvider, Effect, Layer } from "effect"
import { afterAll } from "vitest"
import { JourneyMessageRepository } from "../src/Journeys/JourneyMessageRepository.js"
import * as JourneySender from "../src/Journeys/JourneySender.js"
import { makeEvent, makeOrganization } from "./support/Fixtures.js"
import { serviceHarnessWith } from "./support/ServiceHarness.js"

/*
 * The journeys' sender driven round by round against PostgreSQL and a real SMTP peer: the scheduled-trigger
 * scan's marks (an ended event is not scanned again; an end that passed while no worker ran is still found),
 * and fairness under a flood (order at the peer, never the clock). One send at a time, so the peer's order is
 * the claim's.
 */

const smtp: SmtpPeer = await startSmtpPeer({
  onRcptTo(address, _session, callback) {
    // The provider refuses one organisation's recipients for now (451: try later), as a failing route would.
    if (address.address.startsWith("refused-"))
      return callback(Object.assign(new Error("4.7.1 try again later"), { responseCode: 451 }))
    callback()
  }
})
afterAll(() => smtp.stop())

const PER_ORGANIZATION = 5
const BATCH = 20
const settings = ConfigProvider.fromMap(
  new Map([
    ["JOURNEY_POLL_INTERVAL", "10 millis"],
    ["JOURNEY_SEND_BATCH", String(BATCH)],
    ["JOURNEY_ORGANIZATION_CONCURRENCY", String(PER_ORGANIZATION)],
    ["JOURNEY_SEND_CONCURRENCY", "1"],
    ["JOURNEY_RETRY_DELAYS", "1 hour"]
  ])
)

const harness = () =>
  Layer.mergeAll(JourneyMessageRepository.Default, RateLimiter.layer).pipe(
    Layer.provideMerge(
      serviceHarnessWith({
        EMAIL_PROVIDERS: "smtp",
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        EMAIL_FROM: "Tapline <journeys@tapline.test>",
        EMAIL_TIMEOUT: "5 seconds"
      })
    )
  )

const sender = Effect.withConfigProvider(JourneySender.make, settings)

/** An organisation's event with `count` registered bands whose registrants consented to email at `prefix…`. */
const registeredEvent = (count: number, prefix: string, event: { endsAt?: Date } = {}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const organization = yield* makeOrganization()
    const made = yield* makeEvent(organization)
    if (event.endsAt !== undefined)
      yield* sql`update events set ends_at = ${event.endsAt} where id = ${made.id}`
    yield* sql`
      with b as (
        insert into bands (organization_id, event_id, band_uid)
        select ${organization.id}, ${made.id}, 'B-' || n from generate_series(1, ${count}) n
        returning id, organization_id, band_uid),
      r as (
        insert into registrants (organization_id, band_id, email, source)
        select organization_id, id, ${prefix} || lower(band_uid) || '@people.test', 'api' from b
        returning id)
      insert into registrant_consents (registrant_id, channel, granted, at, source)
      select id, 'email', true, now(), 'api' from r`
    return { organizationId: organization.id, eventId: made.id }
  }).pipe(Effect.orDie)

const journey = (
  event: { organizationId: string; eventId: string },
  trigger: "after_event" | "registration" | "first_tap"
) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ id: string }>`
        insert into journeys (organization_id, event_id, name, trigger, after_minutes, subject, body)
        values (${event.organizationId}, ${event.eventId}, 'J', ${trigger},
          ${trigger === "after_event" ? 0 : null}, 'Hello', 'Hi {{unsubscribeUrl}}')
        returning id`,
      (rows) => rows[0]!.id
    )
  ).pipe(Effect.orDie)

const messages = (journeyId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ bandId: string; status: string }>`
      select band_id, status from journey_messages where journey_id = ${journeyId} order by band_id`
  ).pipe(Effect.orDie)

/** Rounds until `done` holds (each round's sends finished before the next is looked at). */
const roundsUntil = <A, R>(
  s: Effect.Effect.Success<typeof sender>,
  check: Effect.Effect<A, never, R>,
  done: (a: A) => boolean,
  max = 2000
) =>
  Effect.gen(function* () {
    for (let i = 0; i < max; i++) {
      yield* s.round
      yield* s.idle
      const value = yield* check
      if (done(value)) return value
    }
    return yield* Effect.dieMessage("not done within the rounds allowed")
  })

const sentTo = (prefix: string) =>
  Effect.sync(() =>
    smtp.received.flatMap((mail) => {
      const to = JSON.stringify(mail.to)
      return to.includes(prefix) ? [to] : []
    })
  )

layer(harness(), { excludeTestServices: true, timeout: 120_000 })("journey sender", (it) => {
  describe("scheduled triggers: the marks", () => {
    it.scoped(
      "an ended event is queued once and then not scanned again: a removed message is not made again",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const s = yield* sender
          const event = yield* registeredEvent(3, "ended-", { endsAt: new Date(Date.now() - 60_000) })
          const id = yield* journey(event, "after_event")
          const sent = yield* roundsUntil(
            s,
            messages(id),
            (rows) => rows.length === 3 && rows.every((r) => r.status === "sent")
          )
          expect(sent).toHaveLength(3)
          const [mark] = yield* sql<{
            throughAt: Date
          }>`select through_at from journey_trigger_marks where journey_id = ${id}`
          expect(mark!.throughAt.getTime()).toBeGreaterThan(Date.now() - 60_000)
          // Without the mark, every round joined this event's bands again and re-queued what had no message.
          yield* sql`delete from journey_messages where journey_id = ${id} and band_id = ${sent[0]!.bandId}`
          for (let i = 0; i < 3; i++) {
            yield* Effect.sleep("20 millis")
            yield* s.round
            yield* s.idle
          }
          expect(yield* messages(id)).toHaveLength(2)
        })
    )

    it.scoped(
      "an end that passed while no worker ran is found by the next scan, and so is a registration",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const s = yield* sender
          // The worker last scanned an hour ago; the event ended half an hour ago, meanwhile.
          const ended = yield* registeredEvent(2, "down-", { endsAt: new Date(Date.now() + 3_600_000) })
          const afterEnd = yield* journey(ended, "after_event")
          const registered = yield* registeredEvent(2, "reg-")
          const onRegistration = yield* journey(registered, "registration")
          yield* sql`update journeys set created_at = now() - interval '2 hours' where id in (${afterEnd}, ${onRegistration})`
          yield* sql`insert into journey_trigger_marks (journey_id, through_at)
          values (${afterEnd}, now() - interval '1 hour'), (${onRegistration}, now() - interval '1 hour')`
          yield* sql`update events set ends_at = now() - interval '30 minutes' where id = ${ended.eventId}`
          yield* sql`update registrants set created_at = now() - interval '30 minutes'
          where band_id in (select id from bands where event_id = ${registered.eventId})`
          const done = (rows: ReadonlyArray<{ status: string }>) =>
            rows.length === 2 && rows.every((r) => r.status === "sent")
          yield* roundsUntil(s, messages(afterEnd), done)
          yield* roundsUntil(s, messages(onRegistration), done)
          expect((yield* sentTo("down-")).length).toBe(2)
          expect((yield* sentTo("reg-")).length).toBe(2)
        })
    )
  })

  describe("fairness under a flood", () => {
    it.scoped(
      "thousands due for one organisation: another's message goes in the first round, and one queued mid-flood within the next",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const s = yield* sender
          const seed = Date.now().toString(36)
          const flood = yield* registeredEvent(2000, `flood-${seed}-`)
          const other = yield* registeredEvent(2, `other-${seed}-`)
          const floodJourney = yield* journey(flood, "first_tap")
          const otherJourney = yield* journey(other, "first_tap")
          // Due a second ago: the claim compares with the sender's clock in whole milliseconds (see
          // Journeys.channels.test.ts), so a row due "now" in the same millisecond is not due yet.
          const queue = (journeyId: string, event: { eventId: string }, uids: ReadonlyArray<string>) => sql`
            insert into journey_messages (organization_id, journey_id, band_id, due_at, unsubscribe_token)
            select organization_id, ${journeyId}, id, now() - interval '1 second', md5(random()::text) from bands
            where event_id = ${event.eventId} and band_uid in ${sql.in(uids)}`
          yield* sql`
            insert into journey_messages (organization_id, journey_id, band_id, due_at, unsubscribe_token)
            select organization_id, ${floodJourney}, id, now() - interval '1 minute', md5(random()::text) from bands
            where event_id = ${flood.eventId}`
          yield* queue(otherJourney, other, ["B-1"])
          const order = () =>
            Effect.map(sentTo(seed), (all) =>
              all.map((to) => (to.includes(`other-${seed}`) ? "other" : "flood"))
            )
          // The flood is older (due a minute earlier), yet the other organisation's message is in the first round.
          yield* roundsUntil(s, order(), (o) => o.includes("other"))
          expect((yield* order()).indexOf("other")).toBeLessThan(2)
          // Mid-flood, a second message for the other organisation waits for at most the rounds already claimed.
          yield* roundsUntil(s, order(), (o) => o.length >= 30)
          const before = (yield* order()).length
          yield* queue(otherJourney, other, ["B-2"])
          const after = yield* roundsUntil(s, order(), (o) => o.lastIndexOf("other") >= before)
          expect(after.lastIndexOf("other") - before).toBeLessThanOrEqual(2 * PER_ORGANIZATION)
        }),
      120_000
    )

    it.scoped(
      "a provider refusing one organisation's recipients does not hold up another's: theirs are retried later",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const s = yield* sender
          const seed = Date.now().toString(36)
          const refused = yield* registeredEvent(10, `refused-${seed}-`)
          const fine = yield* registeredEvent(10, `fine-${seed}-`)
          const ids = [yield* journey(refused, "first_tap"), yield* journey(fine, "first_tap")] as const
          for (const [id, event] of [
            [ids[0], refused],
            [ids[1], fine]
          ] as const) {
            yield* sql`
            insert into journey_messages (organization_id, journey_id, band_id, due_at, unsubscribe_token)
            select organization_id, ${id}, id, now() - interval '1 second', md5(random()::text) from bands where event_id = ${event.eventId}`
          }
          yield* roundsUntil(s, messages(ids[1]), (rows) => rows.every((r) => r.status === "sent"), 100)
          const refusedRows = yield* messages(ids[0])
          // Each refused one was tried once and is queued again an hour later (JOURNEY_RETRY_DELAYS); none sent.
          expect(refusedRows.every((r) => r.status === "queued")).toBe(true)
          expect((yield* sentTo(`fine-${seed}-`)).length).toBe(10)
        })
    )
  })
})
