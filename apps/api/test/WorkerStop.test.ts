import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { startRedisServer } from "@tapline/testing/redisServer"
import { Redis as RedisClient } from "ioredis"
import { describe, expect, it } from "vitest"
import { processGroup } from "./support/Durability.js"
import { createDatabase } from "./support/Peers.js"
import { tapLoad } from "./support/TapLoad.js"

const STREAM = "tapline:{taps}:stream"
const GROUP = "writers"

const fields = (flat: ReadonlyArray<unknown>): Record<string, unknown> => {
  const record: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1]
  return record
}

/*
 * A worker stopped with SIGTERM while it holds a batch read from the stream. Before, the batch stayed
 * pending until another writer's claimer took it TAP_CLAIM_IDLE (30 s) later, and every stopped writer stayed
 * in the consumer group for good (17 had accumulated in production).
 */
describe("graceful worker stop", () => {
  it("stores what it has read before exiting and leaves the consumer group, restart after restart", async () => {
    const database = await createDatabase()
    const redis = await startRedisServer()
    const client = new RedisClient(redis.url)
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-workerstop-"))
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      TAPLINE_DATA_DIR: dataDir,
      TAP_RATE_LIMIT_PER_MINUTE: "100000000",
      LOG_LEVEL: "WARN"
    }
    const { launch, stopAll } = processGroup(env)
    const consumers = async () =>
      ((await client.xinfo("CONSUMERS", STREAM, GROUP)) as Array<Array<unknown>>).map(fields)
    const group = async () =>
      ((await client.xinfo("GROUPS", STREAM)) as Array<Array<unknown>>)
        .map(fields)
        .find((g) => g.name === GROUP)
    const stored = async () => {
      const [row] = await database.query<{ n: string }>("select count(*) as n from taps")
      return Number(row?.n)
    }
    try {
      // An API without a writer fills the stream: served taps wait there for a worker.
      const api = await launch({ TAPLINE_ROLE: "api", TAPLINE_DEMO: "1" })
      const load = await tapLoad({ port: api.port, rate: 2_000, total: 12_000 })
      expect(load.served).toBe(12_000)
      while ((await client.xlen(STREAM)) < load.served) await new Promise((r) => setTimeout(r, 50))

      // The first worker takes batches of 4 000; SIGTERM as soon as it holds one.
      const worker = await launch({ TAPLINE_ROLE: "worker", TAP_WRITER_BATCH: "4000" })
      let held = 0
      for (let polls = 0; held === 0 && polls < 6_000; polls++) {
        held = Number(((await client.xpending(STREAM, GROUP)) as [number])[0])
        if (held === 0) await new Promise((r) => setTimeout(r, 5))
      }
      expect(held).toBeGreaterThan(0)
      await worker.stop()

      // Everything it read is stored, nothing is left pending, and it is no longer a consumer.
      const read = Number((await group())?.["entries-read"])
      const pending = Number(((await client.xpending(STREAM, GROUP)) as [number])[0])
      const left = await consumers()
      console.log(
        `worker stop: held ${held} at SIGTERM; read ${read}, stored ${await stored()}, pending ${pending}, consumers ${JSON.stringify(left)}`
      )
      expect(pending).toBe(0)
      expect(await stored()).toBe(read)
      expect(left).toEqual([])

      // A second worker, stopped the same way once it has stored the rest: no consumer is left behind.
      const next = await launch({ TAPLINE_ROLE: "worker" })
      while ((await stored()) < load.served) await new Promise((r) => setTimeout(r, 100))
      await next.stop()
      expect(await stored()).toBe(load.served)
      expect(await consumers()).toEqual([])
    } finally {
      await stopAll()
      client.disconnect()
      await redis.dispose()
      await database.drop()
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }, 180_000)
})
