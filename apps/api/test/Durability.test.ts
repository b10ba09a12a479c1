import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { startRedisServer } from "@tapline/testing/redisServer"
import { describe, expect, it } from "vitest"
import { processGroup } from "./support/Durability.js"
import { createDatabase } from "./support/Peers.js"

/*
 * pnpm test:durability — DESIGN.md §4: no served tap is lost and none is stored twice, while a writer is
 * killed mid-batch, an API process is stopped under load and Redis restarts. Redis runs with an append-only
 * file, as production must for the tap stream: a Redis that forgets its data forgets what it held.
 */

const agent = new Http.Agent({ keepAlive: true, maxSockets: 32 })

/** Why a tap was not counted as served, by kind: the figures printed help tell lost replies from lost taps. */
const failures = new Map<string, number>()
const failedBecause = (reason: string) => failures.set(reason, (failures.get(reason) ?? 0) + 1)

/** One tap; resolves true when the server answered 302 (a served tap), false for anything else. */
const tap = (port: number, band: number) =>
  new Promise<boolean>((resolve) => {
    let status: number | undefined
    const req = Http.request(
      {
        host: "127.0.0.1",
        port,
        agent,
        path: `/e?bandId=DEMO-${String((band % 1000) + 1).padStart(4, "0")}`,
        headers: { host: "demo.localhost", "user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148" }
      },
      (res) => {
        status = res.statusCode
        res.resume()
        res.on("end", () => {
          if (res.statusCode !== 302) failedBecause(`status ${res.statusCode}`)
          resolve(res.statusCode === 302)
        })
        res.on("error", (error) => {
          failedBecause(`response ${(error as NodeJS.ErrnoException).code ?? error.message} after ${status}`)
          resolve(false)
        })
      }
    )
    req.on("error", (error) => {
      failedBecause(
        `request ${(error as NodeJS.ErrnoException).code ?? error.message} after ${status ?? "no reply"}`
      )
      resolve(false)
    })
    req.setTimeout(5000, () => req.destroy())
    req.end()
  })

describe("durability", () => {
  it("taps stored equal taps served, without duplicates, through a writer crash, an API stop and a Redis restart", async () => {
    const database = await createDatabase()
    const redis = await startRedisServer({ persistent: true })
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-durable-"))
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      TAPLINE_DATA_DIR: dataDir,
      TAP_CLAIM_IDLE: "2 seconds",
      TAP_RATE_LIMIT_PER_MINUTE: "100000000",
      LOG_LEVEL: "WARN"
    }
    const { launch, stopAll } = processGroup(env)
    try {
      const apiA = await launch({ TAPLINE_ROLE: "api", TAPLINE_DEMO: "1" })
      const apiB = await launch({ TAPLINE_ROLE: "api" })
      let writer = await launch({ TAPLINE_ROLE: "worker", TAP_WRITER_BATCH: "200" })
      await launch({ TAPLINE_ROLE: "worker", TAP_WRITER_BATCH: "200" })

      const total = 6000
      let served = 0
      let failed = 0
      let aStopped = false
      let sent = 0
      const events: Array<Promise<void>> = []
      const load = (async () => {
        const inFlight = new Set<Promise<void>>()
        while (sent < total) {
          const n = sent++
          // Alternate between the two APIs; once A is stopping, B takes everything.
          const port = !aStopped && n % 2 === 0 ? apiA.port : apiB.port
          const request = tap(port, n).then((ok) => {
            if (ok) served++
            else failed++
          })
          const tracked = request.finally(() => inFlight.delete(tracked))
          inFlight.add(tracked)
          if (inFlight.size >= 16) await Promise.race(inFlight)
          // About 600 taps a second: ten seconds of load.
          if (n % 6 === 0) await new Promise((r) => setTimeout(r, 10))
        }
        await Promise.all(inFlight)
      })()

      const at = (ms: number, f: () => Promise<void>) =>
        events.push(new Promise((r) => setTimeout(r, ms)).then(f))
      at(1500, async () => {
        writer.child.kill("SIGKILL")
        writer = await launch({ TAPLINE_ROLE: "worker", TAP_WRITER_BATCH: "200" })
      })
      at(3500, async () => {
        aStopped = true
        await apiA.stop()
      })
      at(6000, () => redis.restart({ graceful: true }))
      await load
      await Promise.all(events)

      // Everything served must arrive; poll until it has or a minute passes.
      const deadline = Date.now() + 60_000
      let stored = { n: 0, distinct: 0 }
      while (Date.now() < deadline) {
        const [row] = await database.query<{ n: string; distinct: string }>(
          "select count(*) as n, count(distinct id) as distinct from taps"
        )
        stored = { n: Number(row?.n), distinct: Number(row?.distinct) }
        if (stored.n >= served) break
        await new Promise((r) => setTimeout(r, 250))
      }
      await new Promise((r) => setTimeout(r, 1000))
      const [final] = await database.query<{ n: string; distinct: string; counted: string }>(
        "select count(*) as n, count(distinct id) as distinct, (select sum(tap_count) from bands) as counted from taps"
      )
      console.log(
        `durability: sent ${total}, served ${served}, not served ${failed}, stored ${final?.n}, distinct ${final?.distinct}, counted on bands ${final?.counted}; not served because ${JSON.stringify(Object.fromEntries(failures))}`
      )
      expect(served).toBeGreaterThan(total * 0.9)
      // Nothing served is lost, nothing unserved is stored, nothing is stored twice. (Once, before taps had a
      // lookup deadline, 16 requests stalled past the client's timeout on a restarting Redis and were stored
      // after the client gave up: TAP_LOOKUP_TIMEOUT now answers them within half a second.)
      expect(Number(final?.n)).toBe(served)
      expect(Number(final?.distinct)).toBe(Number(final?.n))
      expect(Number(final?.counted)).toBe(Number(final?.n))
    } finally {
      await stopAll()
      agent.destroy()
      await redis.dispose()
      await database.drop()
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }, 180_000)
})
