import * as Http from "node:http"
import { describe, expect, it } from "vitest"
import { runCliInProcess } from "./support/CliInProcess.js"
import { createDatabase, deletePrefix, redisUrl, uniquePrefix } from "./support/Peers.js"
import { startServer, waitUntilReady } from "./support/ServerProcess.js"

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

interface Answer {
  readonly sentAt: number
  readonly answeredAt: number
  readonly location: string | undefined
}

/**
 * Taps every 50 ms until one sent at or after `until` was answered (with `answered`, when given), or
 * `timeoutMs`: each with when it was sent and answered, so a test can say what the hot path answered before
 * and after an instant whatever the load.
 */
const tapsUntil = async (
  port: number,
  slug: string,
  until: () => number,
  timeoutMs: number,
  answered?: string
) => {
  const answers: Array<Answer> = []
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const sentAt = Date.now()
    const location = await tap(port, slug, "SWITCH-1")
    answers.push({ sentAt, answeredAt: Date.now(), location })
    if (sentAt >= until() && (answered === undefined || location === answered)) return answers
    await new Promise((r) => setTimeout(r, 50))
  }
  return answers
}

/** The first answer sent at or after `at` that says `to`, in ms after `at` (for the log). */
const latency = (answers: ReadonlyArray<Answer>, at: number, to: string) => {
  const first = answers.find((answer) => answer.sentAt >= at && answer.location === to)
  return first === undefined ? "never" : String(first.answeredAt - at)
}

/*
 * No cron: the hot path reads the time, so a window boundary switches every instance at the boundary itself,
 * and an admin change switches them as soon as its projection is written. Asserted as what was answered
 * before and after those instants (a request answered before the boundary says PRE, one sent after it says
 * LIVE), never as a latency, which on a loaded machine is the machine's; the latencies are printed.
 */
describe("switching without cron, across instances", () => {
  it("two processes sharing Redis switch at a window boundary and after an admin change", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("switch")
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      TAP_DOMAIN: "tap.test"
    }
    try {
      const first = await startServer(env)
      await waitUntilReady(first)
      // Written as an admin would (rows, then the projection), with the boundary an hour away for now.
      await database.query(`
        with org as (insert into organizations (slug, name) values ('switch', 'Switch') returning id),
        ev as (insert into events (organization_id, name, status) select id, 'Show', 'ACTIVE' from org returning id, organization_id),
        w as (
          insert into windows (organization_id, event_id, type, url, starts_at, ends_at)
          select organization_id, id, 'PRE', 'https://example.com/pre', now() - interval '1 hour', now() + interval '1 hour' from ev
          union all
          select organization_id, id, 'LIVE', 'https://example.com/live', now() + interval '1 hour', now() + interval '2 hours' from ev
        )
        insert into bands (organization_id, event_id, band_uid) select organization_id, id, 'SWITCH-1' from ev`)
      const rebuildStarted = Date.now()
      const rebuilt = await runCliInProcess(["readmodel:rebuild"], env)
      expect(rebuilt.code, rebuilt.output).toBe(0)
      const rebuildMs = Date.now() - rebuildStarted
      const second = await startServer({ ...env, TAPLINE_ROLE: "api" })
      await waitUntilReady(second)
      expect(await tap(first.port, "switch", "SWITCH-1")).toBe("https://example.com/pre")
      expect(await tap(second.port, "switch", "SWITCH-1")).toBe("https://example.com/pre")

      // The boundary moved to shortly after the next projection is out: as long again as a rebuild took here,
      // plus 2 s, so the processes answer PRE for a while first however slow the machine is.
      const boundary = Date.now() + 2 * rebuildMs + 2_000
      await database.query(`
        update windows set ends_at = to_timestamp(${boundary / 1000}) where type = 'PRE';
        update windows set starts_at = to_timestamp(${boundary / 1000}) where type = 'LIVE'`)
      const moved = await runCliInProcess(["readmodel:rebuild"], env)
      expect(moved.code, moved.output).toBe(0)
      const [atFirst, atSecond] = await Promise.all(
        [first, second].map((server) => tapsUntil(server.port, "switch", () => boundary, 120_000))
      )
      for (const answers of [atFirst!, atSecond!]) {
        expect(answers.at(-1)!.sentAt).toBeGreaterThanOrEqual(boundary)
        const before = answers.filter((answer) => answer.answeredAt < boundary)
        const after = answers.filter((answer) => answer.sentAt >= boundary)
        expect(before.map((answer) => answer.location)).toEqual(before.map(() => "https://example.com/pre"))
        expect(after.map((answer) => answer.location)).toEqual(after.map(() => "https://example.com/live"))
      }

      // An admin change: the LIVE window moves elsewhere; once its projection is written, both follow.
      await database.query("update windows set url = 'https://example.com/moved' where type = 'LIVE'")
      const changed = await runCliInProcess(["readmodel:rebuild"], env)
      expect(changed.code, changed.output).toBe(0)
      const projected = Date.now()
      const [movedFirst, movedSecond] = await Promise.all(
        [first, second].map((server) =>
          tapsUntil(server.port, "switch", () => projected, 60_000, "https://example.com/moved")
        )
      )
      for (const answers of [movedFirst!, movedSecond!]) {
        expect(answers.at(-1)!.location).toBe("https://example.com/moved")
      }
      console.log(
        `switch latency (ms): boundary ${latency(atFirst!, boundary, "https://example.com/live")}/${latency(atSecond!, boundary, "https://example.com/live")}, ` +
          `change ${latency(movedFirst!, projected, "https://example.com/moved")}/${latency(movedSecond!, projected, "https://example.com/moved")}`
      )
      await Promise.all([first.stop(), second.stop()])
    } finally {
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 240_000)
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
      const stale = await runCliInProcess(["readmodel:status"], env)
      expect(stale.code).toBe(2)
      expect(JSON.parse(stale.output.trim().split("\n").pop()!)).toMatchObject({
        organizations: 1,
        upToDate: 0
      })
      const rebuild = await runCliInProcess(["readmodel:rebuild"], env)
      expect(rebuild.code).toBe(0)
      const fresh = await runCliInProcess(["readmodel:status"], env)
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
    // A server's start (its own process) and three CLI runs (in-process): minutes on an overloaded machine.
  }, 180_000)

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
      let status = await runCliInProcess(["readmodel:status"], env)
      for (let i = 0; i < 100 && status.code !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        status = await runCliInProcess(["readmodel:status"], env)
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
      expect((await runCliInProcess(["readmodel:rebuild"], env)).code).toBe(0)
      await server.stop()
    } finally {
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 120_000)

  it("without Redis it explains that embedded mode rebuilds at start", async () => {
    const result = await runCliInProcess(["readmodel:rebuild"], {})
    expect(result.code).toBe(1)
    expect(result.output).toContain("no Redis configured")
  })
})
