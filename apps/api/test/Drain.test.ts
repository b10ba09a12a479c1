import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { startRedisServer } from "@tapline/testing/redisServer"
import { describe, expect, it } from "vitest"
import { startHaproxy } from "./support/Haproxy.js"
import { createDatabase } from "./support/Peers.js"
import { type RunningServer, startServer, waitUntilReady } from "./support/ServerProcess.js"
import { tapLoad } from "./support/TapLoad.js"

/*
 * A rolling restart behind a real balancer (HAProxy health-checking /health/ready): one of two API processes
 * gets SIGTERM under a fixed-rate tap load. Before the drain, each restart cost clients 137-183 connection
 * resets and a few 502s within half a second of the signal (issue 27).
 */
describe("stop behind a balancer", () => {
  it("SIGTERM to one of two APIs under load: no reset, no 502/503, every served tap stored", async () => {
    const database = await createDatabase()
    const redis = await startRedisServer()
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-drain-"))
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      TAP_RATE_LIMIT_PER_MINUTE: "100000000",
      // The claimer takes over what the stopped process left (if anything) soon: this test is about HTTP.
      TAP_CLAIM_IDLE: "2 seconds",
      // A lookup past its deadline is answered as if Redis were down: on a busy machine that is not this test.
      TAP_LOOKUP_TIMEOUT: "5 seconds",
      // The default drain delay (5 s), unlike the other tests' processes.
      SHUTDOWN_DRAIN_DELAY: "5 seconds",
      LOG_LEVEL: "WARN"
    }
    const processes: Array<RunningServer> = []
    const balancer: { stop?: () => Promise<void> } = {}
    try {
      const a = await startServer({ ...env, TAPLINE_DEMO: "1", TAPLINE_DATA_DIR: Path.join(dataDir, "a") })
      processes.push(a)
      await waitUntilReady(a)
      const b = await startServer({ ...env, TAPLINE_DATA_DIR: Path.join(dataDir, "b") })
      processes.push(b)
      await waitUntilReady(b)
      const haproxy = await startHaproxy({ a: a.port, b: b.port })
      balancer.stop = haproxy.stop
      await haproxy.waitFor("a", "UP")
      await haproxy.waitFor("b", "UP")

      let stopped: Promise<number | null> | undefined
      // 300 taps a second for ten seconds; SIGTERM to A after two.
      const outcome = await tapLoad({
        port: haproxy.port,
        rate: 300,
        total: 3_000,
        onTap: { at: 600, run: () => (stopped = a.stop()) }
      })
      const exitCode = await stopped

      // Everything served must be stored; poll until it is or half a minute passes.
      const count = async () => {
        const [row] = await database.query<{ n: string; distinct: string }>(
          "select count(*) as n, count(distinct id) as distinct from taps"
        )
        return { n: Number(row?.n), distinct: Number(row?.distinct) }
      }
      const deadline = Date.now() + 30_000
      let stored = await count()
      while (stored.n < outcome.served && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250))
        stored = await count()
      }
      const resets = Object.values(outcome.errors).reduce((sum, n) => sum + n, 0)
      console.log(
        `rolling restart: sent ${outcome.sent}, served ${outcome.served}, stored ${stored.n}, lost ${outcome.served - stored.n}, refused ${JSON.stringify(outcome.refused)}, resets/errors ${JSON.stringify(outcome.errors)} (${resets}); A exited ${exitCode}; failures at (ms after SIGTERM) ${JSON.stringify(outcome.failedAt.slice(0, 40))}`
      )
      expect(outcome.errors, `A stopping:\n${a.output()}`).toEqual({})
      expect(outcome.refused, `B meanwhile:\n${b.output()}`).toEqual({})
      expect(outcome.served).toBe(outcome.sent)
      expect(stored).toEqual({ n: outcome.served, distinct: outcome.served })
      expect(exitCode, a.output()).not.toBe(1)
    } finally {
      await balancer.stop?.()
      await Promise.all(processes.map((p) => p.stop()))
      await redis.dispose()
      await database.drop()
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }, 120_000)
})
