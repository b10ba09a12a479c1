import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, type Scope } from "effect"
import { readiness } from "../src/Health/Readiness.js"
import { TapQueue, TapQueues } from "../src/Taps/TapQueue.js"
import { TapRecorder } from "../src/Taps/TapRecorder.js"
import * as TapSink from "../src/Taps/TapSink.js"
import { TapSinkStatuses } from "../src/Taps/TapSinkStatus.js"
import { TapStore } from "../src/Taps/TapStore.js"
import * as TapWriter from "../src/Taps/TapWriter.js"
import { Metrics, scrape } from "../src/Telemetry/Metrics.js"
import { eventually, harness } from "./support/HotPathHarness.js"
import * as Topology from "./support/RedisTopology.js"
import { show, tapOf, tenant } from "./support/TapFixtures.js"
import { redisUrl } from "./support/TestRedis.js"

/*
 * Issue 31: the tap stream has a seam for sinks. A second consumer group beside the PostgreSQL writer gets
 * every tap; trimming keeps what it has not acknowledged, up to TAP_STREAM_MAX_ENTRIES; past that it is
 * marked behind (counted and said), and the writer still loses nothing.
 */

const CAP = 50

const stored = (orgId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ n: string }>`select count(*) as n from taps where organization_id = ${orgId}`
  ).pipe(Effect.map(([row]) => Number(row?.n)))

const startWriter = Effect.forkScoped(Layer.launch(TapWriter.layer.pipe(Layer.provide(TapStore.Default))))

/** How many times the cap cut into `group`'s unacknowledged entries, as the metrics endpoint says. */
const behindCount = (group: string) =>
  Effect.gen(function* () {
    const text = yield* scrape(yield* Metrics)
    const line = text.split("\n").find((l) => l.startsWith(`tapline_tap_sink_behind_total{group="${group}"}`))
    return line === undefined ? 0 : Number(line.split(" ").at(-1))
  })

const contract = (name: string, env: Effect.Effect<Record<string, string>, never, Scope.Scope>) =>
  describe(`tap sinks on ${name}`, () => {
    const layerOf = Layer.unwrapScoped(
      Effect.map(env, (topology) =>
        harness({
          writer: false,
          ...(name === "the memory pipeline" ? { backend: "memory" as const } : {}),
          env: { ...topology, TAP_STREAM_MAX_ENTRIES: String(CAP) }
        })
      )
    )
    layer(layerOf, { excludeTestServices: true, timeout: 120_000 })((it) => {
      it.scoped("the writer and a second sink each receive every tap", () =>
        Effect.gen(function* () {
          const recorder = yield* TapRecorder
          const t = yield* tenant({ events: [{ windows: show("sink") }] })
          const seen = new Set<string>()
          yield* Effect.forkScoped(
            Layer.launch(
              TapSink.layer({
                name: "test-sink-all",
                handle: (delivery) =>
                  Effect.sync(() => {
                    for (const tap of delivery.taps) seen.add(tap.id)
                  })
              })
            )
          )
          yield* startWriter
          const taps = Array.from({ length: 40 }, (_, i) => tapOf(t, `SINK-${i % 8}`))
          for (const tap of taps) recorder.record(tap)
          expect(yield* eventually(stored(t.orgId), (n) => n === 40, 30_000)).toBe(40)
          const all = yield* eventually(
            Effect.sync(() => seen.size),
            (n) => n === 40,
            30_000
          )
          expect(all).toBe(40)
          expect(taps.every((tap) => seen.has(tap.id))).toBe(true)
        })
      )

      it.scoped("trim keeps the entries a registered sink has not acknowledged", () =>
        Effect.gen(function* () {
          const recorder = yield* TapRecorder
          const writerQueue = yield* TapQueue
          const sinkQueue = yield* (yield* TapQueues).forGroup("test-sink-slow")
          const t = yield* tenant({ events: [{ windows: show("slow") }] })
          yield* startWriter
          // Fewer than the cap with what the first test may have left: the cap is not what this is about.
          for (let i = 0; i < 10; i++) recorder.record(tapOf(t, `SLOW-${i % 5}`))
          expect(yield* eventually(stored(t.orgId), (n) => n === 10, 30_000)).toBe(10)
          yield* eventually(writerQueue.health, (h) => h.pending === 0 && h.lag === 0)
          yield* writerQueue.trim
          // The writer is done with them; the sink has read none: all 10 are kept for it.
          let read = 0
          const ids: Array<string> = []
          while (read < 10) {
            const delivery = yield* sinkQueue.take(100)
            if (delivery.ids.length === 0) break
            read += delivery.taps.filter((tap) => tap.orgId === t.orgId).length
            ids.push(...delivery.ids)
          }
          expect(read).toBe(10)
          yield* sinkQueue.ack(ids)
          expect(yield* behindCount("test-sink-slow")).toBe(0)
        })
      )

      it.scoped("past the cap a sink is marked behind and counted, and the writer loses nothing", () =>
        Effect.gen(function* () {
          const recorder = yield* TapRecorder
          const writerQueue = yield* TapQueue
          const tapStore = yield* TapStore
          yield* (yield* TapQueues).forGroup("test-sink-behind")
          const t = yield* tenant({ events: [{ windows: show("cap") }] })
          const total = CAP * 3
          for (let i = 0; i < total; i++) recorder.record(tapOf(t, `CAP-${i % 10}`))
          yield* eventually(writerQueue.health, (h) => h.lag >= total, 30_000)

          // The writer stores a few, then the cap applies: it never trims what the writer has not read.
          const first = yield* writerQueue.take(20)
          yield* tapStore.store(first.taps)
          yield* writerQueue.ack(first.ids)
          yield* writerQueue.trim
          const afterTrim = yield* writerQueue.health
          expect(afterTrim.lag).toBeGreaterThanOrEqual(total - first.ids.length)
          expect(afterTrim.streamLength).toBeGreaterThanOrEqual(total - first.ids.length)

          yield* startWriter
          expect(yield* eventually(stored(t.orgId), (n) => n === total, 30_000)).toBe(total)
          yield* eventually(writerQueue.health, (h) => h.pending === 0 && h.lag === 0)
          // Now the slow sink alone holds them: past the cap its entries are trimmed and it is marked behind.
          yield* writerQueue.trim
          expect((yield* writerQueue.health).streamLength).toBeLessThanOrEqual(CAP)
          expect(yield* behindCount("test-sink-behind")).toBeGreaterThanOrEqual(1)
        }).pipe(Effect.provide(TapStore.Default))
      )
    })
  })

/** tapline_tap_sinks_failing, as the metrics endpoint says. */
const failingGauge = Effect.gen(function* () {
  const text = yield* scrape(yield* Metrics)
  const line = text.split("\n").find((l) => l.startsWith("tapline_tap_sinks_failing "))
  return line === undefined ? undefined : Number(line.split(" ").at(-1))
})

describe("a failing tap sink", () => {
  layer(harness({ writer: false, env: { REDIS_URL: redisUrl } }), {
    excludeTestServices: true,
    timeout: 120_000
  })((it) => {
    it.scoped(
      "is listed by readiness and counted while the process stays ready and the writer stores every tap; it recovers by itself",
      () =>
        Effect.gen(function* () {
          const recorder = yield* TapRecorder
          const statuses = yield* TapSinkStatuses
          const t = yield* tenant({ events: [{ windows: show("failing-sink") }] })
          let brokerDown = true
          const seen = new Set<string>()
          yield* Effect.forkScoped(
            Layer.launch(
              TapSink.layer({
                name: "test-sink-failing",
                // Suspended: a failed batch's effect is retried as it is, so the state is read per attempt.
                handle: (delivery) =>
                  Effect.suspend(() =>
                    brokerDown
                      ? Effect.fail(new Error("the broker does not answer"))
                      : Effect.sync(() => {
                          for (const tap of delivery.taps) if (tap.orgId === t.orgId) seen.add(tap.id)
                        })
                  )
              })
            )
          )
          yield* startWriter
          expect(yield* failingGauge).toBe(0)
          for (let i = 0; i < 10; i++) recorder.record(tapOf(t, `FAIL-${i % 5}`))
          // The writer, in its own group, does not notice.
          expect(yield* eventually(stored(t.orgId), (n) => n === 10, 30_000)).toBe(10)
          const failing = yield* eventually(
            Effect.sync(() => statuses.failing()),
            (sinks) => sinks.some((sink) => sink.name === "test-sink-failing"),
            30_000
          )
          expect(failing.find((sink) => sink.name === "test-sink-failing")?.lastError).toContain(
            "the broker does not answer"
          )
          const ready = yield* readiness
          expect(ready.status).toBe("ready")
          expect(ready.checks).toMatchObject({ writer: "ok", "sink:test-sink-failing": "failing" })
          expect(yield* failingGauge).toBe(1)

          brokerDown = false
          expect(
            yield* eventually(
              Effect.sync(() => seen.size),
              (n) => n === 10,
              30_000
            )
          ).toBe(10)
          yield* eventually(
            Effect.sync(() => statuses.failing()),
            (sinks) => sinks.length === 0,
            30_000
          )
          expect((yield* readiness).checks).toMatchObject({ "sink:test-sink-failing": "ok" })
          expect(yield* failingGauge).toBe(0)
        }),
      120_000
    )
  })
})

contract("standalone Redis", Effect.succeed({ REDIS_URL: redisUrl }))
contract(
  "Redis Sentinel",
  Effect.map(Topology.sentinel, ({ sentinelPort }) => ({
    REDIS_MODE: "sentinel",
    REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`
  }))
)
contract(
  "Redis Cluster",
  Effect.map(Topology.cluster, ({ ports }) => ({
    REDIS_MODE: "cluster",
    REDIS_CLUSTER_NODES: ports.map((port) => `127.0.0.1:${port}`).join(",")
  }))
)
contract("the memory pipeline", Effect.succeed({}))
