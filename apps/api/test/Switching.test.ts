import * as Http from "node:http"
import { describe, expect, it } from "vitest"
import { createDatabase, deletePrefix, redisUrl, uniquePrefix } from "./support/Peers.js"
import { runCli, startServer, waitUntilReady } from "./support/ServerProcess.js"

/** One tap through the raw hot path (fetch will not send our Host header). */
const tap = (port: number, slug: string, bandId: string) =>
  new Promise<string | undefined>((resolve, reject) => {
    const req = Http.request(
      {
        host: "127.0.0.1",
        port,
        path: `/e?bandId=${bandId}`,
        headers: { host: `${slug}.tap.test`, "user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148" }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.headers.location))
      }
    )
    req.on("error", reject)
    req.end()
  })

/** Polls every 50 ms until the location changes to `to`; resolves with the time it first saw it. */
const firstSeen = async (port: number, slug: string, to: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await tap(port, slug, "SWITCH-1")) === to) return Date.now()
    await new Promise((r) => setTimeout(r, 50))
  }
  return Number.POSITIVE_INFINITY
}

describe("switching without cron, across instances", () => {
  it("two processes sharing Redis switch within a second of a window boundary and of an admin change", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("switch")
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      TAP_DOMAIN: "tap.test"
    }
    const boundary = Date.now() + 20_000
    try {
      const first = await startServer(env)
      await waitUntilReady(first)
      // The boundary is set after start-up, written as an admin would (rows, then the projection).
      await database.query(`
        with org as (insert into organizations (slug, name) values ('switch', 'Switch') returning id),
        ev as (insert into events (organization_id, name, status) select id, 'Show', 'ACTIVE' from org returning id, organization_id),
        w as (
          insert into windows (organization_id, event_id, type, url, starts_at, ends_at)
          select organization_id, id, 'PRE', 'https://example.com/pre', now() - interval '1 hour', to_timestamp(${boundary / 1000}) from ev
          union all
          select organization_id, id, 'LIVE', 'https://example.com/live', to_timestamp(${boundary / 1000}), now() + interval '1 hour' from ev
        )
        insert into bands (organization_id, event_id, band_uid) select organization_id, id, 'SWITCH-1' from ev`)
      const rebuilt = await runCli(["readmodel:rebuild"], env)
      expect(rebuilt.code, rebuilt.output).toBe(0)
      const second = await startServer({ ...env, TAPLINE_ROLE: "api" })
      await waitUntilReady(second)

      expect(await tap(first.port, "switch", "SWITCH-1")).toBe("https://example.com/pre")
      expect(await tap(second.port, "switch", "SWITCH-1")).toBe("https://example.com/pre")

      const [seenFirst, seenSecond] = await Promise.all([
        firstSeen(first.port, "switch", "https://example.com/live", boundary - Date.now() + 3_000),
        firstSeen(second.port, "switch", "https://example.com/live", boundary - Date.now() + 3_000)
      ])
      for (const seen of [seenFirst, seenSecond]) {
        expect(seen).toBeGreaterThanOrEqual(boundary)
        expect(seen - boundary).toBeLessThan(1_000)
      }

      // An admin change: the LIVE window moves elsewhere; the projection goes out; both follow.
      await database.query("update windows set url = 'https://example.com/moved' where type = 'LIVE'")
      const changed = await runCli(["readmodel:rebuild"], env)
      expect(changed.code, changed.output).toBe(0)
      const projected = Date.now()
      const [movedFirst, movedSecond] = await Promise.all([
        firstSeen(first.port, "switch", "https://example.com/moved", 3_000),
        firstSeen(second.port, "switch", "https://example.com/moved", 3_000)
      ])
      expect(movedFirst - projected).toBeLessThan(1_000)
      expect(movedSecond - projected).toBeLessThan(1_000)
      console.log(
        `switch latency (ms): boundary ${seenFirst - boundary}/${seenSecond - boundary}, change ${movedFirst - projected}/${movedSecond - projected}`
      )
      await Promise.all([first.stop(), second.stop()])
    } finally {
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 90_000)
})

describe("pnpm tapline readmodel:*", () => {
  it("status reports a stale organisation with exit code 2, rebuild repairs it", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("cli")
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix }
    try {
      const server = await startServer(env)
      await waitUntilReady(server)
      await server.stop()
      await database.query("insert into organizations (slug, name) values ('cli-org', 'CLI')")
      const stale = await runCli(["readmodel:status"], env)
      expect(stale.code).toBe(2)
      expect(JSON.parse(stale.output.trim().split("\n").pop()!)).toMatchObject({
        organizations: 1,
        upToDate: 0
      })
      const rebuild = await runCli(["readmodel:rebuild"], env)
      expect(rebuild.code).toBe(0)
      const fresh = await runCli(["readmodel:status"], env)
      expect(fresh.code).toBe(0)
      expect(JSON.parse(fresh.output.trim().split("\n").pop()!)).toEqual({
        organizations: 1,
        upToDate: 1,
        stale: []
      })
    } finally {
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 60_000)

  it("Redis flushed under a running server (docs/runbook.md): it rebuilds, readmodel:status confirms, no tap is lost", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("flush")
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix }
    try {
      const server = await startServer({ ...env, TAP_DOMAIN: "tap.test", TAPLINE_DEMO: "1" })
      await waitUntilReady(server)
      const before = await tap(server.port, "demo", "DEMO-0001")
      expect(before).toMatch(/^https?:\/\//)
      // FLUSHDB, for this installation's keys: the read model, the stream and its group are gone.
      await deletePrefix(prefix)
      // Served meanwhile from what the process knew (a band it never saw: the organisation's website), and
      // stored once the stream is back. Before the fix, both were 404 "unknown organisation" for 2 s.
      expect(await tap(server.port, "demo", "DEMO-0001")).toBe(before)
      expect(await tap(server.port, "demo", "DEMO-0002")).toMatch(/^https:\/\/example\.com\/demo/)
      let status = await runCli(["readmodel:status"], env)
      for (let i = 0; i < 100 && status.code !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        status = await runCli(["readmodel:status"], env)
      }
      expect(status.code, status.output).toBe(0)
      expect(JSON.parse(status.output.trim().split("\n").pop()!)).toMatchObject({
        organizations: 1,
        upToDate: 1
      })
      expect(await tap(server.port, "demo", "DEMO-0003")).toBe(before)
      const stored = async () =>
        (
          await database.query<{ band_uid: string }>(
            "select band_uid from taps where band_uid in ('DEMO-0001', 'DEMO-0002', 'DEMO-0003') and tapped_at > now() - interval '10 minutes'"
          )
        ).map((row) => row.band_uid)
      for (let i = 0; i < 150 && (await stored()).length < 4; i++)
        await new Promise((r) => setTimeout(r, 200))
      expect((await stored()).sort()).toEqual(["DEMO-0001", "DEMO-0001", "DEMO-0002", "DEMO-0003"])
      // The operator's command is there when the automatic rebuild is not enough (a partial loss).
      expect((await runCli(["readmodel:rebuild"], env)).code).toBe(0)
      await server.stop()
    } finally {
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 120_000)

  it("without Redis it explains that embedded mode rebuilds at start", async () => {
    const result = await runCli(["readmodel:rebuild"], {})
    expect(result.code).toBe(1)
    expect(result.output).toContain("no Redis configured")
  })
})
