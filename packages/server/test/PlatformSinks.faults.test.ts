import { randomUUID } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { type NatsServer, startNatsServer } from "@tapline/testing/natsServer"
import { Context, Effect, Layer } from "effect"
import { TapRecorder } from "../src/Taps/TapRecorder.js"
import { TapSinkStatuses } from "../src/Taps/TapSinkStatus.js"
import { Metrics, scrape } from "../src/Telemetry/Metrics.js"
import { eventually, harness } from "./support/HotPathHarness.js"
import { show, tapOf, tenant } from "./support/TapFixtures.js"

/*
 * Issue 32, item 4: a platform broker destination (BROKER_DESTINATIONS) is a tap sink of its own. Its broker
 * goes down under load for STREAMS_OUTAGE_SECONDS (10 s here, 60 s in `pnpm test:streams-faults`): the sink
 * lags and says so, the PostgreSQL writer does not notice, and once the broker is back every tap is published,
 * none lost; a batch published twice is dropped by NATS (Nats-Msg-Id) and counted.
 */

const OUTAGE_SECONDS = Number(process.env.STREAMS_OUTAGE_SECONDS ?? 10)
const STREAM = `SINKS_${randomUUID().slice(0, 8)}`

class Nats extends Context.Tag("test/Nats")<Nats, NatsServer>() {}

const setup = Layer.unwrapScoped(
  Effect.gen(function* () {
    const nats = yield* Effect.acquireRelease(
      Effect.promise(() => startNatsServer()),
      (server) => Effect.promise(server.dispose)
    )
    return harness({
      env: { BROKER_DESTINATIONS: "main", BROKER_MAIN_URL: `${nats.url}/${STREAM}` }
    }).pipe(Layer.merge(Layer.succeed(Nats, nats)))
  })
)

/** Every message the stream holds (a bare client): its subject and CloudEvent. */
const published = (url: string) =>
  Effect.promise(async () => {
    const nc = await connect({ servers: url })
    try {
      const jsm = await jetstreamManager(nc)
      const info = await jsm.streams.info(STREAM).catch(() => undefined)
      const last = info?.state.last_seq ?? 0
      const messages: Array<{
        subject: string
        event: { id: string; type: string; data: { bandUid: string } }
      }> = []
      for (let seq = info?.state.first_seq ?? 1; seq <= last && last > 0; seq++) {
        const stored = await jsm.streams.getMessage(STREAM, { seq }).catch(() => undefined)
        if (stored) messages.push({ subject: stored.subject, event: stored.json() })
      }
      return messages
    } finally {
      await nc.close()
    }
  })

const stored = (orgId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ n: string }>`select count(*) as n from taps where organization_id = ${orgId}`
  ).pipe(Effect.map(([row]) => Number(row?.n)))

const brokerCount = (outcome: string) =>
  Effect.gen(function* () {
    const text = yield* scrape(yield* Metrics)
    const line = text
      .split("\n")
      .find((l) => l.startsWith(`tapline_broker_messages_total{kind="nats",outcome="${outcome}"}`))
    return line === undefined ? 0 : Number(line.split(" ").at(-1))
  })

describe("a platform broker destination (NATS JetStream)", () => {
  layer(setup, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.scoped(
      "publishes every tap as a CloudEvent on tapline.<slug>.tap.created, from its own consumer group",
      () =>
        Effect.gen(function* () {
          const nats = yield* Nats
          const recorder = yield* TapRecorder
          const t = yield* tenant({ events: [{ windows: show("stream") }] })
          const taps = Array.from({ length: 30 }, (_, n) => tapOf(t, `STREAM-${n % 6}`))
          for (const tap of taps) recorder.record(tap)
          expect(yield* eventually(stored(t.orgId), (n) => n === 30, 30_000)).toBe(30)
          const mine = yield* eventually(
            Effect.map(published(nats.url), (all) =>
              all.filter((m) => m.subject.startsWith(`tapline.${t.slug}.`))
            ),
            (messages) => messages.length >= 30,
            30_000
          )
          expect(new Set(mine.map((m) => m.event.id))).toEqual(new Set(taps.map((tap) => tap.id)))
          expect(mine.every((m) => m.subject === `tapline.${t.slug}.tap.created`)).toBe(true)
          expect(mine.every((m) => m.event.type === "tapline.tap.created")).toBe(true)
          // Each band's taps in the order they were served.
          for (let band = 0; band < 6; band++) {
            const sent = taps.filter((tap) => tap.bandUid === `STREAM-${band}`).map((tap) => tap.id)
            const got = mine.filter((m) => m.event.data.bandUid === `STREAM-${band}`).map((m) => m.event.id)
            expect(got).toEqual(sent)
          }
        }),
      120_000
    )

    it.scoped(
      `rides out a ${OUTAGE_SECONDS} s broker outage under load: it lags and says so, the writer does not notice, nothing is lost`,
      () =>
        Effect.gen(function* () {
          const nats = yield* Nats
          const recorder = yield* TapRecorder
          const statuses = yield* TapSinkStatuses
          const t = yield* tenant({ events: [{ windows: show("outage") }] })
          const duplicatesBefore = yield* brokerCount("duplicate")
          const sent: Array<string> = []
          const record = (n: number) =>
            Effect.sync(() => {
              const tap = tapOf(t, `OUT-${n % 20}`)
              sent.push(tap.id)
              recorder.record(tap)
            })
          for (let n = 0; n < 50; n++) yield* record(n)

          yield* Effect.promise(nats.stop)
          const outageEnds = Date.now() + OUTAGE_SECONDS * 1000
          let n = 50
          // Taps keep coming while the broker is away: 20 every 100 ms.
          while (Date.now() < outageEnds) {
            for (let i = 0; i < 20; i++) yield* record(n++)
            yield* Effect.sleep("100 millis")
          }
          // The writer, in its own group, stored every one of them with the broker still down.
          expect(yield* eventually(stored(t.orgId), (count) => count === sent.length, 60_000)).toBe(
            sent.length
          )
          const failing = yield* eventually(
            Effect.sync(() => statuses.failing()),
            (sinks) => sinks.some((sink) => sink.name === "broker-main"),
            30_000
          )
          expect(failing.map((sink) => sink.name)).toContain("broker-main")

          yield* Effect.promise(nats.start)
          const mine = yield* eventually(
            Effect.map(published(nats.url), (all) =>
              all.filter((m) => m.subject.startsWith(`tapline.${t.slug}.`))
            ),
            (messages) => new Set(messages.map((m) => m.event.id)).size >= sent.length,
            120_000
          )
          const ids = mine.map((m) => m.event.id)
          expect(new Set(ids)).toEqual(new Set(sent))
          // NATS dropped what a retried batch published again: the stream holds each tap once.
          expect(ids.length).toBe(new Set(ids).size)
          yield* eventually(
            Effect.sync(() => statuses.failing()),
            (sinks) => sinks.length === 0,
            30_000
          )
          const duplicates = (yield* brokerCount("duplicate")) - duplicatesBefore
          console.log(
            `broker outage ${OUTAGE_SECONDS} s: sent ${sent.length}, stored ${yield* stored(t.orgId)}, ` +
              `published ${new Set(ids).size}, in the stream ${ids.length}, dropped by NATS as duplicates ${duplicates}`
          )
        }),
      OUTAGE_SECONDS * 1000 + 240_000
    )
  })
})
