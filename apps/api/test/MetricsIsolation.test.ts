import * as Http from "node:http"
import { describe, expect, it } from "vitest"
import { createDatabase, deletePrefix, redisUrl, uniquePrefix } from "./support/Peers.js"
import {
  apiCaller,
  METRICS_TOKEN,
  type RunningServer,
  runCli,
  startServer,
  waitUntilReady
} from "./support/ServerProcess.js"
import { tapOnce } from "./support/TapLoad.js"

/*
 * Issue 28 item 5: no metric label carries an organisation (DESIGN §8). Per-organisation figures belong in the
 * API; /metrics is the platform's, scraped by an operator's Prometheus.
 */

const agent = new Http.Agent({ keepAlive: true, maxSockets: 16 })

/** One tap on `host`; the status. */
const tap = (port: number, bandId: string, options: { host: string; method?: string; userAgent?: string }) =>
  tapOnce(agent, port, bandId, options)

/** A seeded generator (mulberry32): the names a failing run used can be made again from its printed seed. */
const random = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe("metrics carry no organisation", () => {
  it("after taps, refusals and API calls for two organisations, /metrics names neither's id, slug or tap host", async () => {
    const seed = Number(process.env.TAPLINE_SEED ?? Math.floor(Math.random() * 2 ** 31))
    console.log(`metrics isolation seed ${seed} (TAPLINE_SEED=${seed} repeats it)`)
    const next = random(seed)
    const word = (length: number) =>
      Array.from({ length }, () => "abcdefghijklmnopqrstuvwxyz0123456789"[Math.floor(next() * 36)]).join("")
    const database = await createDatabase()
    const prefix = uniquePrefix("metrics-orgs")
    let server: RunningServer | undefined
    try {
      server = await startServer({
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        TAP_DOMAIN: "tap.test",
        TAP_RATE_LIMIT_PER_MINUTE: "100000000",
        LOG_LEVEL: "WARN"
      })
      await waitUntilReady(server)
      const boot = await runCli(["admin:bootstrap", "--email", "metrics@example.com"], {
        DATABASE_URL: database.url
      })
      expect(boot.code, boot.output).toBe(0)
      const api = apiCaller(server.url, /^(tlk_\S+)$/m.exec(boot.output)?.[1] ?? "")

      // What must never show: each organisation's id, slug, tap host, event id and band ids.
      const secrets: Array<string> = []
      for (const letter of ["a", "b"]) {
        const slug = `m${word(9)}${letter}`
        const org = await api("POST", "/api/v1/organizations", {
          slug,
          name: `Metrics ${letter}`,
          websiteUrl: `https://${slug}.example/`
        })
        const orgId = String(org.id)
        const event = await api("POST", `/api/v1/organizations/${orgId}/events`, {
          name: "Night",
          fallbackUrl: `https://${slug}.example/night`
        })
        const eventId = String(event.id)
        const bands = Array.from({ length: 5 }, () => `B${word(8).toUpperCase()}`)
        const imported = await api("POST", `/api/v1/organizations/${orgId}/events/${eventId}/bands/import`, {
          bands: bands.map((bandUid) => ({ bandUid }))
        })
        expect(imported).toMatchObject({ created: 5 })
        const active = await api("POST", `/api/v1/organizations/${orgId}/events/${eventId}/status`, {
          status: "ACTIVE"
        })
        expect(active).toMatchObject({ status: "ACTIVE" })
        const host = `${slug}.tap.test`
        secrets.push(orgId, slug, host, eventId, ...bands)

        // Served taps (twice per band: duplicates), a bot, a HEAD, an unknown band (the event's fallback too),
        // and a malformed band id.
        for (const band of [...bands, ...bands]) expect(await tap(server.port, band, { host })).toBe(302)
        expect(await tap(server.port, bands[0]!, { host, userAgent: "Googlebot/2.1" })).toBe(302)
        expect(await tap(server.port, bands[1]!, { host, method: "HEAD" })).toBe(302)
        expect(await tap(server.port, `U${word(8).toUpperCase()}`, { host })).toBe(302)
        expect(await tap(server.port, "not a band!", { host })).toBe(400)
        // API calls on the organisation's paths, one of them refused.
        await api("GET", `/api/v1/organizations/${orgId}/bands`)
        await api("GET", `/api/v1/organizations/${orgId}/analytics/summary`)
        await api("GET", `/api/v1/organizations/${orgId}/events/00000000-0000-0000-0000-000000000000`)
      }
      // A tap host no organisation has.
      const stranger = `m${word(9)}z`
      secrets.push(stranger)
      expect(await tap(server.port, "B1", { host: `${stranger}.tap.test` })).toBe(404)

      // Stored, so the writer's metrics have seen them too.
      const deadline = Date.now() + 30_000
      for (;;) {
        const [row] = await database.query<{ n: string }>("select count(*) as n from taps")
        if (Number(row?.n) >= 20) break
        if (Date.now() > deadline) throw new Error(`taps not stored: ${row?.n} of at least 20`)
        await new Promise((r) => setTimeout(r, 100))
      }

      const response = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` }
      })
      expect(response.status).toBe(200)
      const text = await response.text()
      const lower = text.toLowerCase()
      expect(secrets.filter((secret) => lower.includes(secret.toLowerCase()))).toEqual([])
      // The scrape is the real one: the taps and API calls above are in it.
      expect(text).toMatch(/^tapline_redirects_total\{kind="FALLBACK"\} 26$/m)
      expect(text).toMatch(/^tapline_writer_batch_size_count \d+$/m)
      expect(text).toMatch(/^tapline_http_request_duration_seconds_count\{route="api",status="4xx"\} \d+$/m)
    } finally {
      await server?.stop()
      agent.destroy()
      await deletePrefix(prefix)
      await database.drop()
    }
  }, 120_000)
})
