import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { createDatabase } from "./support/Peers.js"
import { startRedisCluster } from "./support/RedisCluster.js"
import { type RunningServer, startServer, waitUntilReady } from "./support/ServerProcess.js"

const LIVE = "https://example.com/demo/live"

/** One tap on a demo band; resolves with the redirect's location. */
const tap = (port: number, band: number) =>
  new Promise<string>((resolve) => {
    const req = Http.request(
      {
        host: "127.0.0.1",
        port,
        path: `/e?bandId=DEMO-${String(band).padStart(4, "0")}`,
        headers: { host: "demo.localhost", "user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148" }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.headers.location ?? `status ${res.statusCode}`))
      }
    )
    req.on("error", (error) => resolve(`error ${(error as NodeJS.ErrnoException).code}`))
    req.end()
  })

/*
 * A fresh API on Redis Cluster answered a few of its first taps with the organisation's website: its
 * lookups waited on connects to Cluster nodes and cold code past TAP_LOOKUP_TIMEOUT, and were answered as if
 * Redis were down. Readiness must say yes only once taps get the live window.
 */
describe("readiness of a fresh API", () => {
  it("turns 200 only once taps resolve to the live window, on Redis Cluster", async () => {
    const database = await createDatabase()
    const cluster = await startRedisCluster()
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-warmup-"))
    const env = {
      DATABASE_URL: database.url,
      REDIS_MODE: "cluster",
      REDIS_CLUSTER_NODES: cluster.nodes,
      TAPLINE_DATA_DIR: dataDir,
      TAP_RATE_LIMIT_PER_MINUTE: "100000000",
      LOG_LEVEL: "WARN"
    }
    const processes: Array<RunningServer> = []
    try {
      // The demo tenant, projected into the Cluster by a first process.
      const first = await startServer({ ...env, TAPLINE_DEMO: "1" })
      processes.push(first)
      await waitUntilReady(first)
      expect(await tap(first.port, 1)).toBe(LIVE)

      // A fresh API: as soon as readiness says 200, a burst of first taps, each on a band it never saw.
      const fresh = await startServer({ ...env, TAPLINE_ROLE: "api" })
      processes.push(fresh)
      await waitUntilReady(fresh)
      const answers = await Promise.all(Array.from({ length: 600 }, (_, i) => tap(fresh.port, i + 2)))
      const counts: Record<string, number> = {}
      for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1
      console.log(`first taps after ready: ${JSON.stringify(counts)}`)
      expect(counts).toEqual({ [LIVE]: 600 })
    } finally {
      await Promise.all(processes.map((p) => p.stop()))
      await cluster.dispose()
      await database.drop()
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }, 120_000)
})
