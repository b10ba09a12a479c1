import { randomUUID } from "node:crypto"
import { Deferred, Effect, Either, Exit, Ref, Schedule, Scope } from "effect"
import { describe, expect, it } from "vitest"
import type { BrokerKind, BrokerMessage, BrokerShape, ReceivedMessage } from "../../src/Brokers/Broker.js"

/*
 * The contract every Broker module passes against its real broker (Brokers/Broker.ts). Each broker's test
 * file starts a private server and calls `brokerContract` with a fixture; what differs between brokers
 * (de-duplication) is a flag of the fixture, never a skipped assertion.
 */

/** A message as a bare client of the broker read it back. */
export interface ReadBack {
  readonly key: string | undefined
  readonly body: string
}

export interface BrokerFixture {
  readonly kind: BrokerKind
  /**
   * The module under test, connected to the private server; `channel` names its own topic, exchange and
   * queue, or stream and consumer (unique per test), so tests never see each other's messages.
   */
  readonly make: (channel: string) => Effect.Effect<BrokerShape, unknown, Scope.Scope>
  /**
   * A bare client (the broker's own library, not our module) reading what `make(channel)` published, from the
   * start: resolves once at least `count` arrived, with every message there is by then, in the order read.
   */
  readonly readBack: (channel: string, count: number) => Promise<ReadonlyArray<ReadBack>>
  /** A bare client publishing raw bodies where `make(channel)`'s consume reads. */
  readonly publishRaw: (channel: string, bodies: ReadonlyArray<string>) => Promise<void>
  /** Whether the broker drops a second message with the same id (NATS's Nats-Msg-Id). */
  readonly dedupes: boolean
  /** The private server: stopped (connections refused) and started again on the same port and data. */
  readonly server: { readonly stop: () => Promise<void>; readonly start: () => Promise<void> }
  /**
   * The broker's own checks across the contract's one restart: called before the stop (to publish what must
   * survive it), the function it resolves with runs, and asserts, once the broker is back.
   */
  readonly acrossRestart?: () => Promise<() => Promise<void>>
}

/** A CloudEvent-shaped message; `key` is a band id. */
export const message = (key: string, n: number, slug = "contract-org"): BrokerMessage => {
  const id = randomUUID()
  return {
    id,
    type: "tapline.tap.created",
    key,
    organizationSlug: slug,
    body: JSON.stringify({
      specversion: "1.0",
      id,
      type: "tapline.tap.created",
      source: "/tapline/organizations/contract-org",
      datacontenttype: "application/json",
      data: { key, n }
    })
  }
}

const idOf = (body: string) => (JSON.parse(body) as { id: string }).id
const nOf = (body: string) => (JSON.parse(body) as { data: { n: number } }).data.n

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Effect.scoped(effect))

const channelName = (what: string) => `contract-${what}-${randomUUID().slice(0, 8)}`

/** Waits for `check` to hold, polling; the test's own timeout bounds it. */
const until = async (check: () => boolean | Promise<boolean>) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50))
}

export const brokerContract = (fixture: BrokerFixture) =>
  describe(`the ${fixture.kind} broker module (contract)`, () => {
    it("publishes every message once the broker acknowledged it, in order per key", async () => {
      const channel = channelName("order")
      const keys = ["band-a", "band-b", "band-c", "band-d", "band-e"]
      const messages = Array.from({ length: 200 }, (_, n) => message(keys[n % keys.length]!, n))
      const report = await run(
        Effect.flatMap(fixture.make(channel), (broker) =>
          Effect.gen(function* () {
            // In several publishes, as a sink sends batch after batch.
            let duplicates = 0
            for (let at = 0; at < messages.length; at += 50) {
              duplicates += (yield* broker.publish(messages.slice(at, at + 50))).duplicates
            }
            return { duplicates }
          })
        )
      )
      expect(report.duplicates).toBe(0)
      const read = await fixture.readBack(channel, messages.length)
      expect(read.map((m) => idOf(m.body)).sort()).toEqual(messages.map((m) => m.id).sort())
      for (const key of keys) {
        const sent = messages.filter((m) => m.key === key).map((m) => nOf(m.body))
        const got = read.filter((m) => JSON.parse(m.body).data.key === key).map((m) => nOf(m.body))
        expect(got).toEqual(sent)
      }
      // Kafka carries the key; the others route by organisation and say nothing of a key.
      if (fixture.kind === "kafka")
        expect(read.every((m) => m.key === JSON.parse(m.body).data.key)).toBe(true)
      // The body is the CloudEvent as given, byte for byte.
      const byId = new Map(messages.map((m) => [m.id, m.body]))
      expect(read.every((m) => byId.get(idOf(m.body)) === m.body)).toBe(true)
    }, 60_000)

    it(fixture.dedupes
      ? "drops a message published again with the same id, and says so"
      : "publishes a message given again with the same id again (this broker cannot de-duplicate)", async () => {
      const channel = channelName("dupes")
      const messages = Array.from({ length: 10 }, (_, n) => message(`band-${n % 2}`, n))
      const second = await run(
        Effect.flatMap(fixture.make(channel), (broker) =>
          Effect.zipRight(broker.publish(messages), broker.publish(messages.slice(0, 4)))
        )
      )
      expect(second.duplicates).toBe(fixture.dedupes ? 4 : 0)
      const read = await fixture.readBack(channel, fixture.dedupes ? 10 : 14)
      expect(read.length).toBe(fixture.dedupes ? 10 : 14)
    }, 60_000)

    it("consumes every message, acknowledging only what its handler finished; a failed one comes again", async () => {
      const channel = channelName("consume")
      const bodies = Array.from({ length: 30 }, (_, n) => message(`band-${n % 3}`, n).body)
      const handled = await run(
        Effect.gen(function* () {
          const broker = yield* fixture.make(channel)
          const seen = yield* Ref.make<ReadonlyArray<ReceivedMessage>>([])
          const failedOnce = new Set<string>()
          const done = yield* Deferred.make<void>()
          const handlerScope = yield* Scope.make()
          yield* broker
            .consume((received) =>
              Effect.gen(function* () {
                const id = idOf(received.body)
                // Every fifth message fails its first delivery, as a registration does while PostgreSQL is away.
                if (nOf(received.body) % 5 === 0 && !failedOnce.has(id)) {
                  failedOnce.add(id)
                  return yield* Effect.fail("PostgreSQL is away")
                }
                const all = yield* Ref.updateAndGet(seen, (list) => [...list, received])
                if (new Set(all.map((m) => idOf(m.body))).size === bodies.length)
                  yield* Deferred.succeed(done, undefined)
              })
            )
            .pipe(Scope.extend(handlerScope))
          yield* Effect.promise(() => fixture.publishRaw(channel, bodies))
          yield* Deferred.await(done)
          yield* Scope.close(handlerScope, Exit.void)
          return { seen: yield* Ref.get(seen), failedOnce }
        })
      )
      expect(new Set(handled.seen.map((m) => idOf(m.body)))).toEqual(new Set(bodies.map(idOf)))
      expect(handled.failedOnce.size).toBe(6)
      // A message that failed was delivered again (the broker says how often, where it tells).
      const again = handled.seen.filter((m) => handled.failedOnce.has(idOf(m.body)))
      expect(new Set(again.map((m) => idOf(m.body))).size).toBe(6)

      // A new consumer of the same source gets nothing more: everything handled was acknowledged.
      const extra = await run(
        Effect.gen(function* () {
          const broker = yield* fixture.make(channel)
          const late = yield* Ref.make(0)
          const marker = message("band-z", 999).body
          const sawMarker = yield* Deferred.make<void>()
          yield* broker.consume((received) =>
            idOf(received.body) === idOf(marker)
              ? Deferred.succeed(sawMarker, undefined)
              : Ref.update(late, (n) => n + 1)
          )
          // The marker, published after the first consumer stopped, proves this one is reading.
          yield* Effect.promise(() => fixture.publishRaw(channel, [marker]))
          yield* Deferred.await(sawMarker)
          return yield* Ref.get(late)
        })
      )
      expect(extra).toBe(0)
    }, 120_000)

    // One stop and start serves three checks (a broker's boot is most of this file's time on a busy machine):
    // the publisher's failure while it is down and its recovery, a consumer's reading across the restart, and
    // whatever the fixture checks across a restart of its own (RabbitMQ: durable exchanges and messages).
    it("fails with a transient BrokerError while the broker is down, publishes again once it is back, and keeps consuming across the restart", async () => {
      const outage = channelName("outage")
      const restart = channelName("restart")
      const first = Array.from({ length: 5 }, (_, n) => message("band-a", n).body)
      const second = Array.from({ length: 5 }, (_, n) => message("band-a", n + 5).body)
      const seen = await run(
        Effect.gen(function* () {
          const publisher = yield* fixture.make(outage)
          yield* publisher.publish([message("band-a", 0)])
          const consumer = yield* fixture.make(restart)
          const ids = yield* Ref.make(new Set<string>())
          yield* consumer.consume((received) =>
            Ref.update(ids, (set) => new Set(set).add(idOf(received.body)))
          )
          yield* Effect.promise(() => fixture.publishRaw(restart, first))
          yield* Effect.promise(() => until(() => Effect.runSync(Ref.get(ids)).size >= 5))
          const acrossRestart = yield* Effect.promise(async () => fixture.acrossRestart?.())

          yield* Effect.promise(fixture.server.stop)
          const down = yield* Effect.either(publisher.publish([message("band-a", 1)]))
          expect(Either.isLeft(down) && down.left.failure).toBe("transient")
          expect(Either.isLeft(down) && down.left.broker).toBe(fixture.kind)
          yield* Effect.promise(fixture.server.start)

          // The same module, reconnected by itself: retried as a sink retries a batch.
          const back = message("band-a", 2)
          yield* publisher.publish([back]).pipe(
            Effect.retry({
              schedule: Schedule.spaced("250 millis").pipe(Schedule.upTo("60 seconds")),
              while: (error) => error.failure === "transient"
            })
          )
          // The one published while down may be there too (at least once), never in place of the others.
          const read = yield* Effect.promise(() => fixture.readBack(outage, 2))
          expect(read.map((m) => nOf(m.body)).filter((n) => n !== 1)).toEqual([0, 2])

          // The consumer, never restarted, reads what comes after the broker's restart.
          yield* Effect.promise(() => fixture.publishRaw(restart, second))
          yield* Effect.promise(() => until(() => Effect.runSync(Ref.get(ids)).size >= 10))
          if (acrossRestart !== undefined) yield* Effect.promise(acrossRestart)
          return yield* Ref.get(ids)
        })
      )
      expect(seen).toEqual(new Set([...first, ...second].map(idOf)))
    }, 180_000)
  })
