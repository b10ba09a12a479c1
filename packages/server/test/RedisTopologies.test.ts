import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, type Scope } from "effect"
import { Redis as RedisClient } from "ioredis"
import { Projector } from "../src/ReadModel/Projector.js"
import * as RedisConnection from "../src/Redis/Redis.js"
import { LiveCounters } from "../src/Taps/LiveCounters.js"
import { STREAM_KEY } from "../src/Taps/RedisTapKeys.js"
import { WRITER_GROUP as GROUP, TapQueue } from "../src/Taps/TapQueue.js"
import { TapStore } from "../src/Taps/TapStore.js"
import * as TapWriter from "../src/Taps/TapWriter.js"
import {
  eventually,
  harness,
  pipelineRedis,
  request,
  TAP_DOMAIN,
  TapServer
} from "./support/HotPathHarness.js"
import * as Topology from "./support/RedisTopology.js"
import { show, tenant } from "./support/TapFixtures.js"
import { redisUrl } from "./support/TestRedis.js"

/*
 * Issue 12, item 13: the hot path's Redis work (read model, tap stream with EVALSHA, XREADGROUP and
 * XAUTOCLAIM, live counters) on each topology Tapline accepts, through the production layers: the same
 * contract on standalone, Sentinel and Cluster, and a Sentinel failover under load that loses no tap.
 */

const stored = (orgId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ n: string; distinct: string; duplicates: string; bandTaps: string; countable: string }>`
      select count(*) as n, count(distinct id) as distinct, count(*) filter (where is_duplicate) as duplicates,
        (select coalesce(sum(tap_count), 0) from bands where organization_id = ${orgId}) as band_taps,
        count(*) filter (where band_id is not null and not is_bot) as countable
      from taps where organization_id = ${orgId}`
  ).pipe(
    Effect.map(([row]) => ({
      n: Number(row?.n),
      distinct: Number(row?.distinct),
      duplicates: Number(row?.duplicates),
      bandTaps: Number(row?.bandTaps),
      countable: Number(row?.countable)
    }))
  )

/** The writer, started by the test that needs it (the claim test first plays a writer that died). */
const startWriter = Effect.forkScoped(Layer.launch(TapWriter.layer.pipe(Layer.provide(TapStore.Default))))

const contract = (name: string, env: Effect.Effect<Record<string, string>, never, Scope.Scope>) =>
  describe(`hot path and tap pipeline on Redis ${name}`, () => {
    const layerOf = Layer.unwrapScoped(
      Effect.map(env, (topology) =>
        // A repeat tap within the hour is a duplicate: the check runs in the append script on `{taps}:last:` keys.
        harness({ writer: false, env: { ...topology, TAP_DUPLICATE_INTERVAL: "1 hour" } })
      )
    )
    layer(layerOf, { excludeTestServices: true, timeout: 120_000 })((it) => {
      it.effect("the read model answers taps and follows a change", () =>
        Effect.gen(function* () {
          const { port } = yield* TapServer
          const sql = yield* SqlClient.SqlClient
          const projector = yield* Projector
          const t = yield* tenant({ events: [{ windows: show("topology"), bands: ["RM-1"] }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          expect((yield* request(port, "/e?bandId=RM-1", { host })).location).toBe(
            "https://example.com/topology/live"
          )
          // The eventId form finds the organisation through `rm:event:` whatever the Host.
          const byEvent = yield* request(port, `/e?bandId=RM-1&eventId=${t.eventIds[0]}`, {
            host: "any.host.example"
          })
          expect(byEvent.location).toBe("https://example.com/topology/live")
          yield* sql`update windows set url = 'https://example.com/topology/moved' where event_id = ${t.eventIds[0]!}
            and type = 'LIVE'`
          yield* projector.organization(t.orgId)
          expect((yield* request(port, "/e?bandId=RM-1", { host })).location).toBe(
            "https://example.com/topology/moved"
          )
        })
      )

      it.scoped("taps reach PostgreSQL once through the stream, flagged as repeats and counted live", () =>
        Effect.gen(function* () {
          const { port } = yield* TapServer
          const counters = yield* LiveCounters
          const queue = yield* TapQueue
          yield* startWriter
          const bands = Array.from({ length: 20 }, (_, i) => `FLOW-${i}`)
          const t = yield* tenant({ events: [{ windows: show("flow"), bands }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          const minute = Math.floor(Date.now() / 60_000)
          const replies = yield* Effect.forEach(
            Array.from({ length: 200 }, (_, i) => bands[i % bands.length]!),
            (uid) => request(port, `/e?bandId=${uid}`, { host }),
            { concurrency: 10 }
          )
          expect(replies.every((reply) => reply.status === 302)).toBe(true)
          const result = yield* eventually(stored(t.orgId), (s) => s.n === 200, 30_000)
          expect(result).toEqual({ n: 200, distinct: 200, duplicates: 180, bandTaps: 200, countable: 200 })
          const eventId = t.eventIds[0]!
          expect(yield* counters.uniqueBands(eventId)).toBe(20)
          // The taps may straddle a minute boundary.
          const minutes = [
            yield* counters.minute(eventId, minute),
            yield* counters.minute(eventId, minute + 1)
          ]
          expect(minutes.reduce((sum, m) => sum + m.taps, 0)).toBe(200)
          expect((yield* eventually(queue.health, (h) => h.pending === 0)).pending).toBe(0)
        })
      )

      it.scoped("entries a dead writer left unacknowledged are claimed by another and stored once", () =>
        Effect.gen(function* () {
          const { port } = yield* TapServer
          const client = yield* RedisConnection.Redis
          const t = yield* tenant({ events: [{ windows: show("claim"), bands: ["CLAIM-1"] }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          for (let i = 0; i < 20; i++) yield* request(port, `/e?bandId=CLAIM-1&n=${i}`, { host })
          // A writer that read everything and died before acknowledging (the writer is not running yet). A read
          // the previous test's writer left blocked may take some first: those are unacknowledged too.
          const pending = yield* eventually(
            Effect.gen(function* () {
              yield* Effect.promise(() =>
                client.xreadgroup("GROUP", GROUP, "dead-writer", "COUNT", 1000, "STREAMS", STREAM_KEY, ">")
              )
              const [count] = (yield* Effect.promise(() => client.xpending(STREAM_KEY, GROUP))) as [number]
              return Number(count)
            }),
            (n) => n >= 20,
            30_000
          )
          expect(pending).toBe(20)
          yield* startWriter
          expect(yield* eventually(stored(t.orgId), (s) => s.n === 20, 30_000)).toMatchObject({
            n: 20,
            distinct: 20,
            bandTaps: 20
          })
        }).pipe(Effect.provide(pipelineRedis))
      )
    })
  })

contract("standalone", Effect.succeed({ REDIS_URL: redisUrl }))
contract(
  "Sentinel",
  Effect.map(Topology.sentinel, ({ sentinelPort }) => ({
    REDIS_MODE: "sentinel",
    REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`
  }))
)
contract(
  "Cluster",
  Effect.map(Topology.cluster, ({ ports }) => ({
    REDIS_MODE: "cluster",
    REDIS_CLUSTER_NODES: ports.map((port) => `127.0.0.1:${port}`).join(",")
  }))
)

class Failover extends Context.Tag("test/Failover")<
  Failover,
  { readonly sentinelPort: number; readonly replicaPort: number }
>() {}

const failoverLayer = Layer.unwrapScoped(
  Effect.map(Topology.sentinelWithReplica, ({ replicaPort, sentinelPort }) =>
    harness({
      env: {
        REDIS_MODE: "sentinel",
        REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
        // Every tap comes from one address here; the per-address limit is not what this test is about.
        TAP_RATE_LIMIT_PER_MINUTE: "1000000"
      }
    }).pipe(Layer.merge(Layer.succeed(Failover, { sentinelPort, replicaPort: replicaPort! })))
  )
)

describe("Sentinel failover", () => {
  layer(failoverLayer, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect(
      "taps served before, during and after a failover are all stored, once, with their band counts",
      () =>
        Effect.gen(function* () {
          const { port } = yield* TapServer
          const { replicaPort, sentinelPort } = yield* Failover
          const bands = Array.from({ length: 50 }, (_, i) => `FO-${i}`)
          const t = yield* tenant({ events: [{ windows: show("failover"), bands }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          let served = 0
          const statuses = new Map<number, number>()
          const tap = (n: number) =>
            Effect.gen(function* () {
              const reply = yield* request(port, `/e?bandId=${bands[n % bands.length]}&utm_content=${n}`, {
                host
              })
              served++
              statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
            })
          const burst = (from: number, count: number) =>
            Effect.forEach(
              Array.from({ length: count }, (_, i) => from + i),
              tap,
              { concurrency: 10, discard: true }
            )

          const sentinel = new RedisClient({ port: sentinelPort, host: "127.0.0.1" })
          sentinel.on("error", () => {})
          const masterPort = Effect.promise(async () => {
            const [, masterAt] = (await sentinel.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")) as [
              string,
              string
            ]
            return Number(masterAt)
          })
          expect(yield* masterPort).not.toBe(replicaPort)

          yield* burst(0, 1_000)
          yield* Effect.promise(() => sentinel.call("SENTINEL", "FAILOVER", "mymaster"))
          const failoverStarted = Date.now()
          // Keep tapping through the switch until the Sentinel names the former replica as master.
          let next = 1_000
          for (;;) {
            yield* burst(next, 100)
            next += 100
            if ((yield* masterPort) === replicaPort) break
            if (next > 50_000) throw new Error("the failover did not complete")
          }
          const duringFailover = next - 1_000
          const failoverMs = Date.now() - failoverStarted
          yield* burst(next, 1_000)
          next += 1_000
          sentinel.disconnect()

          expect(served).toBe(next)
          expect([...statuses.keys()]).toEqual([302])
          const result = yield* eventually(stored(t.orgId), (s) => s.n >= served, 60_000)
          expect(result.n, "stored = served").toBe(served)
          expect(result.distinct).toBe(served)
          expect(result.bandTaps).toBe(result.countable)
          console.log(
            `sentinel failover: served ${served} (${duringFailover} while it ran, ${failoverMs} ms), ` +
              `stored ${result.n}, distinct ${result.distinct}, band counts ${result.bandTaps} = ${result.countable}`
          )
        })
    )
  })
})
