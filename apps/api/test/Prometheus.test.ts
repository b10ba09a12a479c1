import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { startRedisServer } from "@tapline/testing/redisServer"
import { mountTinyDisk } from "@tapline/testing/tinyDisk"
import { describe, expect, it } from "vitest"
import { createDatabase, deletePrefix, redisUrl, uniquePrefix } from "./support/Peers.js"
import { type RunningPrometheus, startPrometheus } from "./support/Prometheus.js"
import {
  freePort,
  METRICS_TOKEN,
  type RunningServer,
  startServer,
  waitUntilReady
} from "./support/ServerProcess.js"
import { tapOnce } from "./support/TapLoad.js"

/*
 * Issue 28 item 5 (DESIGN §8): a real Prometheus (Debian's) scrapes the built server's /metrics with the
 * bearer token, loads deploy/prometheus's rules, and one of them fires on the real condition it names.
 */

const root = fileURLToPath(new URL("../../../", import.meta.url))
const shippedRules = Path.join(root, "deploy/prometheus/tapline-rules.yml")
const dashboard = Path.join(root, "deploy/grafana/tapline-dashboard.json")
const JOB = "tapline"

const agent = new Http.Agent({ keepAlive: true, maxSockets: 16 })

/** One tap (a demo band unless told); the status. */
const tap = (
  port: number,
  band: number | string,
  options: { host?: string; method?: string; userAgent?: string } = {}
) =>
  tapOnce(
    agent,
    port,
    typeof band === "string" ? band : `DEMO-${String((band % 1000) + 1).padStart(4, "0")}`,
    options
  )

const taps = async (port: number, from: number, count: number) => {
  const statuses = await Promise.all(Array.from({ length: count }, (_, n) => tap(port, from + n)))
  expect(statuses.filter((status) => status !== 302)).toEqual([])
}

/**
 * The shipped rules with every `for:` at one second and the group renamed: the same expressions, so a rule
 * that fires here fires in production once its condition has lasted as long as the shipped file says.
 */
const quickCopy = (dir: string) => {
  const text = Fs.readFileSync(shippedRules, "utf8")
  const quick = text.replace("- name: tapline\n", "- name: tapline-quick\n").replace(/for: \S+/g, "for: 1s")
  const file = Path.join(dir, "tapline-rules-quick.yml")
  Fs.writeFileSync(file, quick)
  return file
}

const firing = async (prometheus: RunningPrometheus, alertname: string, instance?: string) =>
  (await prometheus.alerts()).some(
    (alert) =>
      alert.state === "firing" &&
      alert.labels.alertname === alertname &&
      (instance === undefined || alert.labels.instance === instance)
  )

const scalar = async (prometheus: RunningPrometheus, expr: string) => {
  const [sample] = await prometheus.query(expr)
  return sample === undefined ? undefined : Number(sample.value[1])
}

describe("a real Prometheus", () => {
  it("scrapes /metrics with the token, loads the shipped rules, fires TaplineWriterNotWriting while the writer is frozen", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("prometheus")
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-prom-rules-"))
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      TAP_RATE_LIMIT_PER_MINUTE: "100000000",
      LOG_LEVEL: "WARN"
    }
    const processes: Array<RunningServer> = []
    // When each step finished, printed: where the test's time goes on a loaded machine.
    const started = Date.now()
    const steps: Array<string> = []
    const step = (what: string) => steps.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)}s`)
    let prometheus: RunningPrometheus | undefined
    // A stopped process never acts on SIGTERM: the cleanup wakes it first.
    let frozen: RunningServer | undefined
    try {
      const quick = quickCopy(dir)
      const promtool = execFileSync(Path.join(root, "scripts/promtool.sh"), { encoding: "utf8" }).trim()
      for (const file of [shippedRules, quick]) {
        expect(execFileSync(promtool, ["check", "rules", file], { encoding: "utf8" })).toContain("SUCCESS")
      }

      // Prometheus first (it takes a few seconds to turn its configuration into scrapes), then an API process
      // and a worker (the tap writer), together, on the ports it scrapes.
      const [apiPort, workerPort] = [await freePort(), await freePort()]
      const apiTarget = `127.0.0.1:${apiPort}`
      const workerTarget = `127.0.0.1:${workerPort}`
      prometheus = await startPrometheus({
        jobs: [
          { name: JOB, targets: [apiTarget, workerTarget], token: METRICS_TOKEN },
          // The same server with another bearer: the token is what lets the scrape in.
          { name: "wrong-token", targets: [apiTarget], token: "not-the-metrics-token" }
        ],
        ruleFiles: [shippedRules, quick]
      })
      const [api, worker] = [
        await startServer({ ...env, PORT: String(apiPort), TAPLINE_ROLE: "api", TAPLINE_DEMO: "1" }),
        await startServer({ ...env, PORT: String(workerPort), TAPLINE_ROLE: "worker" })
      ]
      processes.push(api, worker)
      await Promise.all([waitUntilReady(api), waitUntilReady(worker)])
      step("servers ready")
      const prom = prometheus

      // The scrape, with the token: both targets up. A target not up says why (the deadline's message).
      const up = async (target: string) => {
        const found = (await prom.targets()).find((t) => t.labels.job === JOB && t.labels.instance === target)
        if (found?.health === "up") return true
        const gone = processes.find(
          (server) => server.child.exitCode !== null || server.child.signalCode !== null
        )
        if (gone !== undefined)
          throw new Error(`server on ${gone.port} exited:\n${gone.output().slice(-4_000)}`)
        throw new Error(
          found === undefined
            ? `${target} not a target yet`
            : `${target} ${found.health}: ${found.lastError} (last scrape took ${found.lastScrapeDuration} s)`
        )
      }
      await prom.waitFor(
        "both targets up",
        async () => (await up(apiTarget)) && (await up(workerTarget)),
        60_000
      )
      // The worker frozen (SIGSTOP): a writer that stores nothing and does not answer its scrape, as a wedged
      // process or a lost host does. TaplineDown says so.
      worker.child.kill("SIGSTOP")
      frozen = worker
      await prom.waitFor("TaplineDown firing for the worker", async () =>
        (await firing(prom, "TaplineDown", workerTarget)) ? true : undefined
      )
      // Awaited until a scrape was refused for its token: on a busy machine one may have failed on its
      // timeout first, which says nothing about the token.
      const refused = await prom.waitFor("the wrong token's scrape refused with 401", async () =>
        (await prom.targets()).find(
          (t) => t.labels.job === "wrong-token" && t.health === "down" && t.lastError.includes("401")
        )
      )
      expect(refused.lastError).toContain("401")
      step("TaplineDown firing")

      // The shipped rules loaded, healthy; the quick copy's expressions are the shipped ones.
      const groups = await prom.ruleGroups()
      const shipped = groups.find((group) => group.name === "tapline")
      const copy = groups.find((group) => group.name === "tapline-quick")
      expect(shipped?.file).toBe(shippedRules)
      // Every alert of the shipped file loaded (counted from the file, so a new rule needs no edit here).
      const alerts = Fs.readFileSync(shippedRules, "utf8").match(/^\s*- alert:/gm)?.length ?? 0
      expect(alerts).toBeGreaterThanOrEqual(15)
      expect(shipped?.rules.length).toBe(alerts)
      expect(copy?.rules.map((rule) => [rule.name, rule.query])).toEqual(
        shipped?.rules.map((rule) => [rule.name, rule.query])
      )
      const broken = (shipped?.rules ?? []).filter((rule) => rule.health === "err")
      expect(broken.map((rule) => `${rule.name}: ${rule.lastError}`)).toEqual([])
      // Every metric a rule or a dashboard panel names is one Tapline exposes (a histogram by its _bucket,
      // _count or _sum): a name that is not can never fire, or shows an empty panel.
      const exposed = await prom.metricNames(JOB)
      expect(exposed.has("tapline_redirects_total")).toBe(true)
      const panels = [...Fs.readFileSync(dashboard, "utf8").matchAll(/"expr":\s*"((?:[^"\\]|\\.)*)"/g)]
      expect(panels.length).toBeGreaterThan(10)
      const queries = [
        ...(shipped?.rules ?? []).map((rule) => [`rule ${rule.name}`, rule.query] as const),
        ...panels.map(([, expr]) => ["dashboard", JSON.parse(`"${expr}"`) as string] as const)
      ]
      const unknown = queries.flatMap(([where, query]) =>
        [...query.matchAll(/\b(?:tapline|nodejs|process)_[a-z0-9_]+/g)]
          .map(([name]) => name)
          .filter((name) => !exposed.has(name) && !exposed.has(name.replace(/_(bucket|count|sum)$/, "")))
          .map((name) => `${where}: ${name}`)
      )
      expect(unknown).toEqual([])

      // No taps yet: the rule's other leg holds (no batch stored) and it stays quiet.
      await prom.waitFor("no writer rate", async () =>
        (await scalar(prom, "sum(rate(tapline_writer_batch_size_count[5m]))")) === 0 ? true : undefined
      )
      expect(await scalar(prom, "sum(tapline_redirects_total)")).toBeUndefined()
      const evaluatedAfter = async (since: number) =>
        (await prom.ruleGroups()).some(
          (group) => group.name === "tapline-quick" && Date.parse(group.lastEvaluation) > since + 2000
        )
      const quietSince = Date.now()
      await prom.waitFor("two more evaluations", async () =>
        (await evaluatedAfter(quietSince)) ? true : undefined
      )
      expect(await firing(prom, "TaplineWriterNotWriting")).toBe(false)
      step("quiet before taps")

      // Taps with no writer: they wait in the stream, the redirect count rises, the alert fires.
      await taps(api.port, 0, 40)
      expect(
        await prom.waitFor("40 redirects scraped", async () => {
          const value = await scalar(prom, "sum(tapline_redirects_total)")
          return value === 40 ? value : undefined
        })
      ).toBe(40)
      expect(await scalar(prom, "sum(tapline_stream_length)")).toBeGreaterThan(0)
      step("redirects scraped")
      await prom.waitFor("TaplineWriterNotWriting firing", async () =>
        (await firing(prom, "TaplineWriterNotWriting")) ? true : undefined
      )
      step("firing")

      // The writer resumes: it stores the backlog, and once it stores batches Prometheus has seen, the alert ends.
      worker.child.kill("SIGCONT")
      frozen = undefined
      await prom.waitFor("the worker target up", () => up(workerTarget))
      await taps(api.port, 40, 20)
      await prom.waitFor("60 taps stored", async () => {
        const [row] = await database.query<{ n: string }>("select count(*) as n from taps")
        return Number(row?.n) === 60 ? true : undefined
      })
      step("stored")
      await prom.waitFor("TaplineWriterNotWriting resolved", async () =>
        (await firing(prom, "TaplineWriterNotWriting")) ? undefined : true
      )
      await prom.waitFor("TaplineDown resolved", async () =>
        (await firing(prom, "TaplineDown", workerTarget)) ? undefined : true
      )
      expect(await scalar(prom, "sum(rate(tapline_writer_batch_size_count[5m]))")).toBeGreaterThan(0)
      step("resolved")
      // Idle and healthy, the stream empties (the writer trims it), so the rule's other leg ends too: a quiet
      // night, when no batch is stored for five minutes, does not page.
      await prom.waitFor("the stream trimmed empty", async () =>
        (await scalar(prom, "sum(tapline_stream_pending + tapline_stream_length)")) === 0 ? true : undefined
      )
      step("stream empty")
    } finally {
      console.log(`prometheus test: ${steps.join(", ")}`)
      await prometheus?.stop()
      frozen?.child.kill("SIGCONT")
      await Promise.all(processes.map((p) => p.stop()))
      agent.destroy()
      await deletePrefix(prefix)
      await database.drop()
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

describe("a real Prometheus, when taps are lost", () => {
  it("fires the shipped TaplineTapsLost and TaplineJournalFailing while the journal's disk is full and Redis is down", async (context) => {
    // A real full disk: a tmpfs filled to the last page (root only, as in JournalFullDisk.test.ts).
    const disk = mountTinyDisk(256 * 1024)
    if ("unavailable" in disk) {
      console.warn(`skipped: ${disk.unavailable}`)
      return context.skip()
    }
    const database = await createDatabase()
    const redis = await startRedisServer()
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-prom-rules-"))
    let prometheus: RunningPrometheus | undefined
    let server: RunningServer | undefined
    try {
      const port = await freePort()
      const target = `127.0.0.1:${port}`
      prometheus = await startPrometheus({
        jobs: [{ name: JOB, targets: [target], token: METRICS_TOKEN }],
        ruleFiles: [shippedRules, quickCopy(dir)]
      })
      const prom = prometheus
      server = await startServer({
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        PORT: String(port),
        TAPLINE_DEMO: "1",
        TAP_SPOOL_DIR: disk.dir,
        // A small memory tier: past it, with the journal failing and Redis gone, a served tap is lost.
        TAP_MEMORY_BUFFER_MAX: "20",
        TAP_RATE_LIMIT_PER_MINUTE: "100000000",
        LOG_LEVEL: "ERROR"
      })
      await waitUntilReady(server)
      // Scraped while healthy: the loss counter's series exist (at 0) before the first loss, which increase()
      // needs to count it; nothing fires.
      await prom.waitFor("the lost-tap series at 0", async () =>
        (await scalar(prom, "sum(tapline_taps_lost_total)")) === 0 ? true : undefined
      )
      const quietSince = Date.now()
      await prom.waitFor("two more evaluations", async () =>
        (await prom.ruleGroups()).some(
          (group) => group.name === "tapline-quick" && Date.parse(group.lastEvaluation) > quietSince + 2000
        )
          ? true
          : undefined
      )
      expect(await firing(prom, "TaplineTapsLost")).toBe(false)
      expect(await firing(prom, "TaplineJournalFailing")).toBe(false)

      await redis.stop()
      disk.fill()
      // Every tap is still served (the attendee gets the 302); 20 wait in memory, the rest are lost.
      await taps(server.port, 0, 50)
      // Scraped during the outage: a scrape that waits on Redis outlasts Prometheus's timeout, and the
      // instance shows as down instead of saying what it lost.
      const lost = await prom.waitFor("lost taps scraped", async () => {
        const value = await scalar(prom, 'sum(tapline_taps_lost_total{reason="memory_full"})')
        if (value !== undefined && value > 0) return value
        const [scraped] = await prom.targets()
        throw new Error(`${scraped?.health}: ${scraped?.lastError}`)
      })
      expect(await scalar(prom, "max(tapline_recorder_memory_taps)")).toBe(20)
      // TaplineTapsLost has no `for:`: the shipped rule itself fires. TaplineJournalFailing from the quick copy.
      await prom.waitFor("TaplineTapsLost firing", async () =>
        (await firing(prom, "TaplineTapsLost")) ? true : undefined
      )
      await prom.waitFor("TaplineJournalFailing firing", async () =>
        (await firing(prom, "TaplineJournalFailing", target)) ? true : undefined
      )
      // The shipped group's own rule (the groups are evaluated at their own offsets within the second).
      await prom.waitFor("the shipped TaplineTapsLost firing", async () =>
        (await prom.ruleGroups())
          .find((group) => group.name === "tapline")
          ?.rules.some((rule) => rule.name === "TaplineTapsLost" && rule.state === "firing")
          ? true
          : undefined
      )
      console.log(`taps lost while the journal's disk was full and Redis down: ${lost} of 50`)

      // Both back: the taps held in memory are appended, and the journal alert ends.
      disk.free()
      await redis.start()
      await prom.waitFor("TaplineJournalFailing resolved", async () =>
        (await firing(prom, "TaplineJournalFailing", target)) ? undefined : true
      )
      expect(await scalar(prom, "max(tapline_recorder_memory_taps)")).toBe(0)
    } finally {
      await prometheus?.stop()
      await server?.stop()
      await redis.dispose()
      await database.drop()
      disk.dispose()
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
