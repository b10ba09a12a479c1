// pnpm bench:webhooks — what outgoing webhooks cost: the same redirect load with no endpoint, then with an
// endpoint subscribed to tap.created, alternately. Tapline runs as it would in production: an api process
// (the redirect) on CPU 0, a worker process (tap writer and webhook dispatcher) with the receiver and the load
// generator on CPU 1. Printed per mode: redirect throughput (wrk) and latency at a fixed rate (open loop), how
// long the writer takes to store every tap, and with webhooks on, when each tap reached the receiver.
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import * as hdr from "hdr-histogram-js"
import Pg from "pg"
import { NODE_FLAGS_FOR_ONE_CPU } from "./node-flags.mjs"
import { openLoop } from "./open-loop.mjs"
import { BANDS, bandPath, pinToLoadCore, wrk } from "./redirect-servers.mjs"
import {
  adminApi,
  cleanup,
  createDatabase,
  freePort,
  httpOk,
  requireCommand,
  sleep,
  startProcess,
  startRedis
} from "./support.mjs"

const RATE = Number(process.env.BENCH_RATE ?? 1000)
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 15)
const WRK_SECONDS = Number(process.env.BENCH_WRK_SECONDS ?? 10)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)

/** The receiver: counts the taps it is sent and how long after its tap each arrived. */
const receiver = () => {
  const state = { taps: 0, messages: 0, latency: null }
  const server = Http.createServer((request, response) => {
    const chunks = []
    request.on("data", (c) => chunks.push(c))
    request.on("end", () => {
      const now = Date.now()
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
      if (body.type === "tap.created") {
        state.messages++
        for (const tap of body.data.taps) {
          state.taps++
          state.latency?.recordValue(Math.max(1, now - Date.parse(tap.tappedAt)))
        }
      }
      response.writeHead(204).end()
    })
  })
  return { server, state }
}

const main = async () => {
  requireCommand("wrk", "wrk")
  requireCommand("taskset", "util-linux")
  pinToLoadCore()
  const databaseUrl = await createDatabase("webhooks")
  const redisUrl = await startRedis(1)
  const apiPort = await freePort()
  const workerPort = await freePort()
  const common = {
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    LOG_LEVEL: "WARN",
    TAP_RATE_LIMIT_PER_MINUTE: "1000000000",
    TAP_UNKNOWN_BAND_LIMIT_PER_MINUTE: "1000000000",
    OUTBOUND_ALLOW: "127.0.0.1",
    TAPLINE_ENCRYPTION_KEYS: `1:${Buffer.alloc(32, 7).toString("base64")}`,
    NODE_FLAGS: NODE_FLAGS_FOR_ONE_CPU
  }
  console.log("starting Tapline: api on CPU 0, worker (writer, dispatcher) on CPU 1 …")
  await startProcess(
    "apps/api/dist/main.js",
    [],
    {
      ...common,
      PORT: String(apiPort),
      TAPLINE_ROLE: "api",
      TAPLINE_DEMO: "1",
      JOBS_ENABLED: "false",
      TAP_SPOOL_DIR: Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-bench-api-"))
    },
    0,
    () => httpOk(`http://127.0.0.1:${apiPort}/health/ready`)
  )
  await startProcess(
    "apps/api/dist/main.js",
    [],
    {
      ...common,
      PORT: String(workerPort),
      TAPLINE_ROLE: "worker",
      TAP_SPOOL_DIR: Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-bench-worker-"))
    },
    1,
    () => httpOk(`http://127.0.0.1:${workerPort}/health/ready`)
  )
  const { server, state } = receiver()
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { api } = adminApi(apiPort, databaseUrl)
  const orgs = await api("GET", "/api/v1/organizations")
  const demo = (orgs.items ?? orgs).find((o) => o.slug === "demo")
  const created = await api("POST", `/api/v1/organizations/${demo.id}/webhooks`, {
    url: `http://127.0.0.1:${server.address().port}/taps`,
    eventTypes: ["tap.created"]
  })
  const endpoint = `/api/v1/organizations/${demo.id}/webhooks/${created.endpoint.id}`
  const db = new Pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const stored = async () => (await db.query("select count(*)::int as n from taps")).rows[0].n
  /** Waits until no delivery is pending, so no backlog of one phase is counted in the next. */
  const settled = async () => {
    for (;;) {
      const { rows } = await db.query(
        "select count(*)::int as n from webhook_deliveries where status = 'pending'"
      )
      if (rows[0].n === 0) return
      await sleep(100)
    }
  }

  /** Waits until PostgreSQL holds `target` taps (and, with webhooks on, the receiver has them); milliseconds. */
  const drained = async (target, receivedTarget, since) => {
    for (;;) {
      if ((await stored()) >= target && (receivedTarget === null || state.taps >= receivedTarget))
        return Date.now() - since
      await sleep(50)
    }
  }

  const paths = Array.from({ length: BANDS }, (_, i) => bandPath(i))
  const results = { off: [], on: [] }
  // Warm-up (not measured), with webhooks on so the dispatcher's code is warm too.
  await api("PATCH", endpoint, { enabled: true })
  wrk(apiPort, 3)
  await drained(await stored(), null, Date.now())
  await settled()
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of round % 2 === 1 ? ["off", "on"] : ["on", "off"]) {
      await settled()
      await api("PATCH", endpoint, { enabled: mode === "on" })
      await sleep(500)
      const before = await stored()
      state.taps = 0
      state.latency = hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 600_000,
        numberOfSignificantValueDigits: 3
      })
      const started = Date.now()
      const load = await openLoop({
        port: apiPort,
        host: "demo.localhost",
        paths,
        rate: RATE,
        seconds: RATE_SECONDS
      })
      const loadEnded = Date.now()
      const fixed = load.completed
      const storeMs = await drained(before + fixed, mode === "on" ? fixed : null, loadEnded)
      const delivery =
        mode === "on"
          ? {
              p50: state.latency.getValueAtPercentile(50),
              p99: state.latency.getValueAtPercentile(99),
              max: state.latency.maxValue
            }
          : null
      const beforeWrk = await stored()
      state.taps = 0
      const burst = wrk(apiPort, WRK_SECONDS)
      const wrkEnded = Date.now()
      const burstDrainMs = await drained(
        beforeWrk + burst.requests,
        mode === "on" ? burst.requests : null,
        wrkEnded
      )
      const run = {
        rps: burst.rps,
        p50: load.p50,
        p99: load.p99,
        storeMs,
        delivery,
        burstTaps: burst.requests,
        burstDrainMs,
        elapsedMs: Date.now() - started
      }
      results[mode].push(run)
      console.log(
        `  round ${round} webhooks ${mode}: wrk ${burst.rps.toFixed(0)} req/s; ${RATE} req/s p50 ${load.p50.toFixed(2)} ms p99 ${load.p99.toFixed(2)} ms; stored ${storeMs} ms after the load` +
          (delivery ? `; delivered p50 ${delivery.p50} ms p99 ${delivery.p99} ms after the tap` : "") +
          `; wrk's ${burst.requests} taps stored${mode === "on" ? " and delivered" : ""} ${burstDrainMs} ms after it`
      )
    }
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
  const worst = (xs) => Math.max(...xs)
  const line = (mode) => {
    const r = results[mode]
    const burstRate = mean(r.map((x) => x.burstTaps / ((WRK_SECONDS * 1000 + x.burstDrainMs) / 1000)))
    return (
      `webhooks ${mode.padEnd(3)}  redirect ${mean(r.map((x) => x.rps)).toFixed(0)} req/s   at ${RATE} req/s p99 ${worst(r.map((x) => x.p99)).toFixed(2)} ms` +
      `   taps end to end ${burstRate.toFixed(0)}/s (wrk burst: stored${mode === "on" ? " and delivered" : ""})` +
      (mode === "on"
        ? `   delivery after the tap p50 ${worst(r.map((x) => x.delivery.p50))} ms p99 ${worst(r.map((x) => x.delivery.p99))} ms`
        : "")
    )
  }
  console.log("")
  console.log(
    `bench:webhooks — ${ROUNDS} alternating rounds; open loop ${RATE} req/s for ${RATE_SECONDS}s, then wrk -c50 -d${WRK_SECONDS}s; api on CPU 0, worker + load + receiver + Redis on CPU 1; ${Os.cpus().length} cores`
  )
  console.log(line("off"))
  console.log(line("on"))
  console.log(
    `redirect throughput on/off: ${(mean(results.on.map((x) => x.rps)) / mean(results.off.map((x) => x.rps))).toFixed(3)}`
  )
  await db.end()
  server.close()
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(cleanup)
