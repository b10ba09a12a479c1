import * as Http from "node:http"
import { startRedisServer } from "@tapline/testing/redisServer"
import { mountTinyDisk } from "@tapline/testing/tinyDisk"
import { describe, expect, it } from "vitest"
import { numberedTap, type Outcome } from "./support/Durability.js"
import { createDatabase } from "./support/Peers.js"
import { METRICS_TOKEN, type RunningServer, startServer, waitUntilReady } from "./support/ServerProcess.js"

/*
 * DESIGN §4 (issue 27): the journal's disk fills up while Redis is down. Every tap served then used to be
 * lost: a failed journal write released its 302 as if the tap were on disk, and nothing else held it. The
 * journal here is a real 256 KiB tmpfs filled to the last page, so write(2) behaves as on a full disk (short
 * writes, then ENOSPC). Each tap carries its request number in utm_content: the test knows which were stored.
 */

const agent = new Http.Agent({ keepAlive: true, maxSockets: 16 })

const tap = (port: number, n: number) => numberedTap(agent, port, n, 200)

/** Sends taps numbered [from, to), 16 at a time; the outcome of each. */
const sendTaps = async (port: number, from: number, to: number, outcomes: Map<number, Outcome>) => {
  const inFlight = new Set<Promise<void>>()
  for (let n = from; n < to; n++) {
    const tracked: Promise<void> = tap(port, n)
      .then((outcome) => {
        outcomes.set(n, outcome)
      })
      .finally(() => inFlight.delete(tracked))
    inFlight.add(tracked)
    if (inFlight.size >= 16) await Promise.race(inFlight)
  }
  await Promise.all(inFlight)
}

const metric = async (server: RunningServer, name: string) => {
  const response = await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` }
  })
  // Without the bearer the answer is a 401 whose body names no metric: the sum would be 0 whatever was lost.
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
  const text = await response.text()
  return text
    .split("\n")
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0)
}

/** The in-app alerts' webhook channel: every (rule, type) it was told, in order. */
const startAlertReceiver = async () => {
  const said: Array<{ rule: string; type: string }> = []
  const server = Http.createServer((request, response) => {
    let body = ""
    request.on("data", (chunk) => (body += chunk))
    request.on("end", () => {
      try {
        const message = JSON.parse(body) as { type: string; data: { rule: string } }
        said.push({ rule: message.data.rule, type: message.type })
      } catch {
        said.push({ rule: "(unreadable)", type: body.slice(0, 80) })
      }
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`
  return { url, said, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

const until = async (what: string, condition: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe("tap journal on a full disk during a Redis outage", () => {
  it("every tap served while the journal cannot write is stored once both come back; readiness names the journal", async (context) => {
    const disk = mountTinyDisk(256 * 1024)
    if ("unavailable" in disk) {
      console.warn(`skipped: ${disk.unavailable}`)
      return context.skip()
    }
    const database = await createDatabase()
    const redis = await startRedisServer({ persistent: true })
    const alerts = await startAlertReceiver()
    let api: RunningServer | undefined
    try {
      api = await startServer({
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        TAPLINE_DEMO: "1",
        TAP_SPOOL_DIR: disk.dir,
        TAP_RATE_LIMIT_PER_MINUTE: "100000000",
        LOG_LEVEL: "WARN",
        // The in-app rule `journal_failing` says so on a channel while it holds, and when it ends.
        ALERT_CHANNELS: `webhook:${alerts.url}`,
        ALERT_WEBHOOK_SECRET: `whsec_${Buffer.from("journal-alert-secret").toString("base64")}`,
        ALERT_INTERVAL: "200 millis",
        ALERT_FOR: "0 seconds",
        OUTBOUND_ALLOW: "127.0.0.1"
      })
      await waitUntilReady(api)
      const outcomes = new Map<number, Outcome>()
      // Known bands first, so the outage answers them from memory as it would in production.
      await sendTaps(api.port, 0, 200, outcomes)

      await redis.stop()
      disk.fill()
      const total = 2_000
      await sendTaps(api.port, 200, total, outcomes)
      const ready = await fetch(`${api.url}/health/ready`)
      const body = (await ready.json()) as { checks?: Record<string, string> }
      const lostDuring = await metric(api, "tapline_taps_lost_total")
      const journalAlert = (type: string) => () =>
        alerts.said.some((s) => s.rule === "journal_failing" && s.type === type)
      await until("journal_failing fires", journalAlert("alert.firing"))

      disk.free()
      await redis.start()
      const served = [...outcomes].filter(([, o]) => o === "served").map(([n]) => n)
      const refused = [...outcomes].filter(([, o]) => o === "refused").length
      const count = async () => {
        const [row] = await database.query<{ n: string; distinct: string }>(
          "select count(*) as n, count(distinct utm_content) as distinct from taps"
        )
        return { n: Number(row?.n), distinct: Number(row?.distinct) }
      }
      const deadline = Date.now() + 45_000
      let stored = await count()
      while (stored.n < served.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250))
        stored = await count()
      }
      const rows = await database.query<{ n: string }>("select utm_content as n from taps")
      const storedSet = new Set(rows.map((row) => Number(row.n)))
      const missing = served.filter((n) => !storedSet.has(n))
      console.log(
        `full journal disk + Redis outage: sent ${total}, served ${served.length}, refused ${refused}, ` +
          `stored ${stored.n} (distinct ${stored.distinct}), lost ${missing.length}, ` +
          `lost metric during the outage ${lostDuring}`
      )
      if (missing.length > 0) console.log(api.output().slice(-3000))
      expect(missing.length, `lost: ${missing.slice(0, 10).join(", ")}…`).toBe(0)
      expect(stored.distinct).toBe(stored.n)
      expect(refused).toBe(0)
      expect(ready.status).toBe(503)
      expect(body.checks?.journal).toBe("failing")
      expect(lostDuring).toBe(0)
      // Both back: ready again, and the alert says it is over.
      await waitUntilReady(api, 30_000)
      await until("journal_failing resolves", journalAlert("alert.resolved"))
    } finally {
      await api?.stop()
      agent.destroy()
      await redis.dispose()
      await alerts.close()
      await database.drop()
      disk.dispose()
    }
  }, 120_000)
})
