// pnpm bench:redirect — Tapline's hot path against a bare node:http + ioredis server doing the same lookup and
// stream append, on the same pinned core, loaded alternately with identical settings:
//   wrk (closed loop, maximum throughput) and a constant 2 000 req/s open-loop generator (latency percentiles).
// A fourth server ("page") serves the same demo bands from a REGISTRATION_PAGE window: each 302 carries a page
// token minted for the band (HMAC-SHA256), so page/tapline is the token's cost on the hot path.
import * as Http from "node:http"
import * as Os from "node:os"
import Pg from "pg"
import { openLoop } from "./open-loop.mjs"
import {
  apiServerEnv,
  BANDS,
  bandPath,
  LOAD_CPU,
  NODE_FLAGS,
  pinToLoadCore,
  SERVER_CPU,
  startServers,
  wrk
} from "./redirect-servers.mjs"
import {
  cleanup,
  createDatabase,
  freePort,
  httpOk,
  memory,
  requireCommand,
  sleep,
  startProcess,
  startRedis
} from "./support.mjs"

const WRK_SECONDS = Number(process.env.BENCH_WRK_SECONDS ?? 10)
const RATE = Number(process.env.BENCH_RATE ?? 2000)
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 15)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
const CONNECTIONS = 50

/**
 * Tapline as the "tapline" server runs it (own database and Redis), with the demo event's windows sending taps
 * to the registration page: the demo seed rewrites the windows at every start, so the column's default is
 * switched after the first start and the server started again (the second start seeds page windows).
 */
const startPageServer = async () => {
  const databaseUrl = await createDatabase("redirect_page")
  const redisUrl = await startRedis(LOAD_CPU)
  const port = await freePort()
  const start = () =>
    startProcess(
      "apps/api/dist/main.js",
      [],
      apiServerEnv(
        { port, databaseUrl, redisUrl, prefix: "tapline-page:" },
        { TAP_TRACE_RATIO: "0", REGISTRATION_TOKEN_KEY: "bench-registration-token-key-0123456789" }
      ),
      SERVER_CPU,
      () => httpOk(`http://127.0.0.1:${port}/health/ready`)
    )
  const first = await start()
  const pg = new Pg.Client({ connectionString: databaseUrl })
  await pg.connect()
  await pg.query("alter table windows alter column destination set default 'REGISTRATION_PAGE'")
  await pg.end()
  await new Promise((resolve) => {
    first.child.once("exit", resolve)
    first.child.kill("SIGTERM")
  })
  console.log(
    "starting Tapline with the demo windows sending taps to the registration page (pinned to CPU 0) …"
  )
  const server = await start()
  // fetch drops a Host header: node:http sends it as given.
  const probe = await new Promise((resolve, reject) =>
    Http.get({ port, path: bandPath(0), headers: { host: "demo.localhost" } }, (response) => {
      response.resume()
      resolve({ status: response.statusCode, location: response.headers.location ?? "" })
    }).on("error", reject)
  )
  const location = probe.location
  if (probe.status !== 302 || !location.includes("/r/"))
    throw new Error(`page server answered ${probe.status} ${location}`)
  console.log(`  page server redirects to ${location}`)
  return { name: "page", port, pid: server.child.pid }
}

const main = async () => {
  requireCommand("wrk", "wrk")
  requireCommand("taskset", "util-linux")
  pinToLoadCore()

  const targets = await startServers("redirect", { withoutMetrics: true, withTracing: true })
  targets.push(await startPageServer())
  const results = Object.fromEntries(targets.map((t) => [t.name, { rps: [], latency: [], non2xx: 0 }]))

  const paths = Array.from({ length: BANDS }, (_, i) => bandPath(i))
  const openLoopAt = (t, seconds) =>
    openLoop({ port: t.port, host: "demo.localhost", paths, rate: RATE, seconds })
  // Warm-up, not measured: the servers' JIT and caches, and the generators' own (the open-loop code runs in
  // this process and would otherwise be cold for whichever server it measures first).
  for (const t of targets) wrk(t.port, 3)
  for (const t of targets) await openLoopAt(t, 2)
  // Each round starts with the other server, so neither always follows the other's saturation.
  const inOrder = (round) => (round % 2 === 1 ? targets : [...targets].reverse())
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of inOrder(round)) {
      const run = wrk(t.port, WRK_SECONDS, CONNECTIONS)
      results[t.name].rps.push(run.rps)
      results[t.name].non2xx += run.non2xx
      console.log(
        `  round ${round} wrk ${t.name}: ${run.rps.toFixed(0)} req/s (p99 ${run.p99}, non-3xx ${run.non2xx})`
      )
      await sleep(1000)
    }
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of inOrder(round)) {
      const run = await openLoopAt(t, RATE_SECONDS)
      results[t.name].latency.push(run)
      console.log(
        `  round ${round} ${RATE} req/s ${t.name}: p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, p99.9 ${run.p999.toFixed(2)} ms, max ${run.max.toFixed(1)} ms, errors ${run.errors}`
      )
      await sleep(1000)
    }
  }
  for (const t of targets) results[t.name].memory = memory(t.pid)

  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
  // One disturbed round (a GC, a neighbour) moves a mean of few rounds; the median of the rounds does not.
  const median = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b)
    const mid = Math.floor(sorted.length / 2)
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
  const worst = (runs, key) => Math.max(...runs.map((r) => r[key]))
  const line = (name) => {
    const r = results[name]
    return `${name.padEnd(9)} ${mean(r.rps).toFixed(0).padStart(8)} req/s (median ${median(r.rps).toFixed(0)}; rounds ${r.rps.map((x) => x.toFixed(0)).join(", ")})   p50 ${worst(r.latency, "p50").toFixed(2)} ms   p99 ${worst(r.latency, "p99").toFixed(2)} ms   p99.9 ${worst(r.latency, "p999").toFixed(2)} ms   RSS ${r.memory.rss} MB (peak ${r.memory.peak} MB)`
  }
  const ratio = mean(results.tapline.rps) / mean(results.baseline.rps)
  console.log("")
  console.log(
    `bench:redirect — ${ROUNDS} alternating rounds; wrk -t1 -c${CONNECTIONS} -d${WRK_SECONDS}s; open loop ${RATE} req/s for ${RATE_SECONDS}s; ${Os.cpus().length} cores, servers on CPU ${SERVER_CPU} (node ${NODE_FLAGS}), load generator and a private Redis on CPU ${LOAD_CPU}`
  )
  console.log(line("tapline"))
  console.log(line("baseline"))
  if (results.nometrics !== undefined) {
    console.log(line("nometrics"))
    console.log(
      `metrics cost: throughput with/without ${(mean(results.tapline.rps) / mean(results.nometrics.rps)).toFixed(3)} (medians ${(median(results.tapline.rps) / median(results.nometrics.rps)).toFixed(3)}; target ≥ 0.98)`
    )
  }
  if (results.traced !== undefined) {
    const sink = await targets.find((t) => t.name === "traced").sink.stats()
    console.log(line("traced"))
    console.log(
      `tracing cost (1 % of redirects traced, exported over OTLP: ${sink.requests} exports, ${(sink.bytes / 1024).toFixed(0)} KiB): throughput traced/untraced ${(mean(results.traced.rps) / mean(results.tapline.rps)).toFixed(3)} (medians ${(median(results.traced.rps) / median(results.tapline.rps)).toFixed(3)}; target ≥ 0.99)`
    )
  }
  console.log(line("page"))
  console.log(
    `page token cost (REGISTRATION_PAGE window: HMAC token minted per tap): throughput page/tapline ${(mean(results.page.rps) / mean(results.tapline.rps)).toFixed(3)} (medians ${(median(results.page.rps) / median(results.tapline.rps)).toFixed(3)}); p99 at ${RATE} req/s page/tapline ${(worst(results.page.latency, "p99") / worst(results.tapline.latency, "p99")).toFixed(2)}`
  )
  console.log(`throughput ratio tapline/baseline: ${ratio.toFixed(2)} (target ≥ 0.85)`)
  const worstTapline = results.tapline.latency
  console.log(
    `targets at ${RATE} req/s: p99 ${worst(worstTapline, "p99").toFixed(2)} ms (≤ 5), p99.9 ${worst(worstTapline, "p999").toFixed(2)} ms (≤ 20)`
  )
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(cleanup)
