import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import { type NatsServer, startNatsServer } from "@tapline/testing/natsServer"
import {
  type SharedKafka,
  type SharedRabbit,
  sharedKafka,
  sharedRabbit
} from "@tapline/testing/sharedBrokers"
import { Redis } from "ioredis"
import Pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
// The bare clients (each broker's own library) live with the server's tests, where those libraries resolve.
import {
  countKafka,
  countNats,
  type Published,
  rabbitCapture,
  readKafka,
  readNats
} from "../../../packages/server/test/support/BrokerReaders.js"
import { numberedTap, type Outcome, processGroup } from "./support/Durability.js"
import { createDatabase, deletePrefix, redisUrl, uniquePrefix } from "./support/Peers.js"
import { METRICS_TOKEN, type RunningServer } from "./support/ServerProcess.js"

/*
 * Issue 32, item 4: a worker running the PostgreSQL writer and three platform broker sinks (Kafka, RabbitMQ,
 * NATS JetStream) is killed with SIGKILL while each sink holds a batch it has not acknowledged; a new worker
 * reclaims those batches (TAP_CLAIM_IDLE) and publishes them again. Every stored tap is at every broker at
 * least once (read there by id with a bare client); Kafka and RabbitMQ may hold a tap twice, NATS never (it
 * drops a re-publish by Nats-Msg-Id, and the new worker counts it as a duplicate).
 */

const STREAM = `KILL_${randomUUID().slice(0, 8)}`
const TOPIC = `tapline.kill.${randomUUID().slice(0, 8)}`
const EXCHANGE = `tapline.kill.${randomUUID().slice(0, 8)}`
const GROUPS = ["broker-nats", "broker-kafka", "broker-rabbit"]
/** Taps sent before the worker starts, so its sinks start on full batches (TAP_WRITER_BATCH). */
const BACKLOG = 6000

// The worker is killed, never a broker: Kafka and RabbitMQ are the run's shared ones (names of this file's own).
let nats: NatsServer
let kafka: SharedKafka
let rabbit: SharedRabbit
beforeAll(async () => {
  ;[nats, kafka, rabbit] = await Promise.all([startNatsServer(), sharedKafka(), sharedRabbit()])
}, 300_000)
afterAll(async () => {
  await nats?.dispose()
}, 120_000)

const agent = new Http.Agent({ keepAlive: true, maxSockets: 32 })

/** True once `check` holds; false when it still does not after `timeoutMs` (the assertions say what is off). */
const waitFor = async (check: () => Promise<boolean>, timeoutMs = 180_000, everyMs = 250) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, everyMs))
  }
  return true
}

/** Unacknowledged entries of each consumer group of the tap stream: a batch in a consumer's hands. */
const pendingOf = async (client: Redis, key: string) => {
  const reply = (await client.xinfo("GROUPS", key)) as Array<Array<string | number>>
  return Object.fromEntries(
    reply.map((flat) => {
      const g = Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[String(v), flat[i + 1]]] : [])))
      return [String(g.name), Number(g.pending)]
    })
  )
}

const metric = async (server: RunningServer, line: string) => {
  const text = await (
    await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text()
  const found = text.split("\n").find((l) => l.startsWith(line))
  return found === undefined ? 0 : Number(found.split(" ").at(-1))
}

describe("a worker killed while its broker sinks publish", () => {
  it("SIGKILL mid-batch: the reclaimed batches publish again; every tap at every broker, duplicates at Kafka and RabbitMQ only", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("sinks-kill")
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      TAP_CLAIM_IDLE: "2 seconds",
      TAP_RATE_LIMIT_PER_MINUTE: "100000000",
      LOG_LEVEL: "WARN"
    }
    const sinks = {
      BROKER_DESTINATIONS: "nats,kafka,rabbit",
      BROKER_NATS_URL: `${nats.url}/${STREAM}`,
      BROKER_KAFKA_URL: `kafka://${kafka.bootstrap}/${TOPIC}`,
      BROKER_RABBIT_URL: `${rabbit.url}/${EXCHANGE}`
    }
    const { launch, stopAll } = processGroup(env)
    const redis = new Redis(redisUrl)
    const db = new Pg.Client({ connectionString: database.url })
    const streamKey = `${prefix}{taps}:stream`
    let capture: Awaited<ReturnType<typeof rabbitCapture>> | undefined
    try {
      const api = await launch({ TAPLINE_ROLE: "api", TAPLINE_DEMO: "1" })
      await db.connect()
      const [org] = (await db.query<{ id: string; slug: string }>("select id, slug from organizations")).rows
      capture = await rabbitCapture(rabbit.url, EXCHANGE, org!.slug)
      // The sinks' groups before any tap, so what the worker will find is kept for them.
      for (const group of [...GROUPS, "writers"])
        await redis.xgroup("CREATE", streamKey, group, "0", "MKSTREAM").catch(() => {})

      const outcomes = new Map<number, Outcome>()
      let sent = 0
      let loading = true
      const load = (async () => {
        const inFlight = new Set<Promise<void>>()
        while (loading) {
          const n = sent++
          const request = numberedTap(agent, api.port, n).then((outcome) => {
            outcomes.set(n, outcome)
          })
          const tracked = request.finally(() => inFlight.delete(tracked))
          inFlight.add(tracked)
          if (inFlight.size >= 16) await Promise.race(inFlight)
          // As fast as it goes for the backlog; then 20 taps every 100 ms, so taps keep coming through the kill
          // without piling up thousands more that every sink and every reader must go through afterwards.
          if (n >= BACKLOG ? n % 20 === 0 : n % 6 === 0)
            await new Promise((r) => setTimeout(r, n >= BACKLOG ? 100 : 10))
        }
        await Promise.all(inFlight)
      })()
      // A backlog first, so the worker's sinks start on full batches (TAP_WRITER_BATCH) that take a while.
      await waitFor(async () => sent >= BACKLOG, 120_000)
      const first = await launch({ TAPLINE_ROLE: "worker", ...sinks })
      // Killed once every sink holds a batch it has not acknowledged and has published some of what it holds:
      // the broker has messages that the new worker will publish again.
      const inHand = await waitFor(
        async () => {
          const pending = await pendingOf(redis, streamKey)
          if (!GROUPS.every((group) => (pending[group] ?? 0) > 0)) return false
          const counts = await Promise.all([
            countNats(nats.url, STREAM),
            countKafka(kafka.bootstrap, TOPIC),
            capture!.count()
          ])
          return counts.every((n) => n > 0)
        },
        60_000,
        10
      )
      const pendingAtKill = await pendingOf(redis, streamKey)
      first.child.kill("SIGKILL")
      await first.exited
      console.log(`killed with batches in hand (${inHand}): pending ${JSON.stringify(pendingAtKill)}`)
      const second = await launch({ TAPLINE_ROLE: "worker", ...sinks })
      await new Promise((r) => setTimeout(r, 3000))
      loading = false
      await load

      const served = [...outcomes.values()].filter((o) => o === "served").length
      const storedIds = async () =>
        (await db.query<{ id: string }>("select id from taps")).rows.map((r) => r.id)
      await waitFor(async () => (await storedIds()).length >= served)
      const stored = new Set(await storedIds())
      const readers: Record<string, () => Promise<ReadonlyArray<Published>>> = {
        nats: () => readNats(nats.url, STREAM, org!.slug),
        kafka: async () =>
          (await readKafka(kafka.bootstrap, TOPIC)).filter((m) => m.source.endsWith(org!.id)),
        rabbitmq: () => capture!.read()
      }
      const at: Record<string, ReadonlyArray<string>> = {}
      for (const [kind, read] of Object.entries(readers)) {
        await waitFor(async () => {
          at[kind] = (await read()).map((m) => m.id)
          const ids = new Set(at[kind])
          return [...stored].every((id) => ids.has(id))
        })
      }
      const natsDuplicates = await metric(
        second,
        'tapline_broker_messages_total{kind="nats",outcome="duplicate"}'
      )
      const line = Object.entries(at)
        .map(
          ([kind, ids]) =>
            `${kind} published ${new Set(ids).size}, duplicates ${ids.length - new Set(ids).size}`
        )
        .join("; ")
      console.log(
        `worker kill -9 mid-batch: sent ${sent}, served ${served}, stored ${stored.size}; ${line}; ` +
          `NATS dropped as duplicates (new worker's count) ${natsDuplicates}`
      )
      if (Object.values(at).some((ids) => new Set(ids).size < stored.size))
        console.log(`the new worker said:\n${second.output().slice(-6000)}`)
      expect(inHand).toBe(true)
      expect(stored.size).toBeGreaterThanOrEqual(served)
      for (const [kind, ids] of Object.entries(at)) {
        const have = new Set(ids)
        expect({ kind, missing: [...stored].filter((id) => !have.has(id)).length }).toEqual({
          kind,
          missing: 0
        })
      }
      // NATS holds each tap once: what the new worker published again it dropped by Nats-Msg-Id.
      expect(at.nats!.length).toBe(new Set(at.nats).size)
    } finally {
      await stopAll()
      agent.destroy()
      await capture?.close()
      await db.end().catch(() => {})
      await redis.quit()
      await deletePrefix(prefix)
      await database.drop()
    }
  }, 600_000)
})
