import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
// Tapline and the bare node:http + ioredis baseline, started side by side for the redirect benchmarks:
// both servers pinned to one core with the flags of `pnpm start`, a private Redis on the load core.
import { Redis } from "ioredis"
import { NODE_FLAGS_FOR_ONE_CPU } from "./node-flags.mjs"
import { createDatabase, freePort, httpOk, onExit, startProcess, startRedis } from "./support.mjs"

export const SERVER_CPU = 0
export const LOAD_CPU = 1
export const BANDS = 1000
export const NODE_FLAGS = process.env.BENCH_NODE_FLAGS ?? NODE_FLAGS_FOR_ONE_CPU
/** Moves this process (the open-loop generator runs in it) onto the load core, away from the servers. */
export const pinToLoadCore = () =>
  execFileSync("taskset", ["-a", "-p", "-c", String(LOAD_CPU), String(process.pid)], { stdio: "ignore" })

/**
 * wrk on the load core, `connections` connections for `seconds`, cycling through the demo bands: throughput,
 * completed requests, non-3xx answers and p99. The Lua script is written once per run and removed on exit.
 */
export const wrk = (port, seconds, connections = 50) => {
  if (wrkScript === null) {
    wrkScript = Path.join(Os.tmpdir(), `tapline-wrk-${process.pid}.lua`)
    Fs.writeFileSync(
      wrkScript,
      `local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/e?bandId=DEMO-" .. string.format("%04d", (i % ${BANDS}) + 1))
end`
    )
    const script = wrkScript
    onExit(async () => Fs.rmSync(script, { force: true }))
  }
  const out = execFileSync(
    "taskset",
    [
      "-c",
      String(LOAD_CPU),
      "wrk",
      "-t1",
      `-c${connections}`,
      `-d${seconds}s`,
      "--latency",
      "-s",
      wrkScript,
      "-H",
      "Host: demo.localhost",
      `http://127.0.0.1:${port}`
    ],
    { encoding: "utf8" }
  )
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    requests: Number(/(\d+) requests in/.exec(out)?.[1]),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    p99: /99%\s+([\d.]+\w+)/.exec(out)?.[1]
  }
}
let wrkScript = null

export const bandPath = (i) => `/e?bandId=DEMO-${String((i % BANDS) + 1).padStart(4, "0")}`

/** The environment of a Tapline `api` server under load: demo tenant, a journal of its own, limits lifted. */
export const apiServerEnv = ({ port, databaseUrl, redisUrl, prefix }, extra = {}) => ({
  PORT: String(port),
  HOST: "127.0.0.1",
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: prefix,
  TAPLINE_DEMO: "1",
  TAPLINE_ROLE: "api",
  LOG_LEVEL: "WARN",
  // A journal of its own: a previous run's leftovers would be replayed during the measurement.
  TAP_SPOOL_DIR: Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-bench-journal-")),
  // One load generator on one address: lift the per-client limits for the measurement.
  TAP_RATE_LIMIT_PER_MINUTE: "1000000000",
  TAP_UNKNOWN_BAND_LIMIT_PER_MINUTE: "1000000000",
  NODE_FLAGS,
  ...extra
})

/** Starts them; returns `[{ name, port, pid }]`: Tapline, the baseline, and Tapline without metrics if asked. */
export const startServers = async (databaseName, options = {}) => {
  const databaseUrl = await createDatabase(databaseName)
  // Redis gets the load generator's core, so the two servers compete for nothing on theirs.
  const redisUrl = await startRedis(LOAD_CPU)
  const taplinePrefix = "tapline:"
  const baselinePrefix = "baseline:"
  const taplinePort = await freePort()
  const baselinePort = await freePort()

  const taplineEnv = (port, prefix, extra = {}) =>
    apiServerEnv({ port, databaseUrl, redisUrl, prefix }, extra)
  // The same server with metrics off (METRICS_ENABLED=false), to measure what counting costs the hot path.
  const withoutMetrics = options.withoutMetrics === true ? await freePort() : null
  // And with 1 % of redirects traced and exported over OTLP to a sink in this process (the load core).
  const traced = options.withTracing === true ? await freePort() : null

  console.log("starting Tapline (api role, pinned to CPU 0) …")
  const tapline = await startProcess(
    "apps/api/dist/main.js",
    [],
    taplineEnv(taplinePort, taplinePrefix, { TAP_TRACE_RATIO: "0" }),
    SERVER_CPU,
    () => httpOk(`http://127.0.0.1:${taplinePort}/health/ready`)
  )

  let metricsOff = null
  if (withoutMetrics !== null) {
    console.log("starting Tapline with METRICS_ENABLED=false (pinned to CPU 0) …")
    metricsOff = await startProcess(
      "apps/api/dist/main.js",
      [],
      taplineEnv(withoutMetrics, "tapline-nometrics:", { METRICS_ENABLED: "false", TAP_TRACE_RATIO: "0" }),
      SERVER_CPU,
      () => httpOk(`http://127.0.0.1:${withoutMetrics}/health/ready`)
    )
  }

  let tracedServer = null
  let sink = null
  if (traced !== null) {
    sink = await startOtlpSink()
    console.log("starting Tapline with TAP_TRACE_RATIO=0.01 exporting over OTLP (pinned to CPU 0) …")
    tracedServer = await startProcess(
      "apps/api/dist/main.js",
      [],
      taplineEnv(traced, "tapline-traced:", {
        TAP_TRACE_RATIO: "0.01",
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url
      }),
      SERVER_CPU,
      () => httpOk(`http://127.0.0.1:${traced}/health/ready`)
    )
  }

  const seed = new Redis(redisUrl, { keyPrefix: baselinePrefix })
  const pipeline = seed.pipeline()
  for (let i = 0; i < BANDS; i++)
    pipeline.set(`band:DEMO-${String(i + 1).padStart(4, "0")}`, "https://example.com/demo/live")
  await pipeline.exec()
  await seed.quit()

  console.log("starting the baseline (node:http + ioredis, pinned to CPU 0) …")
  const baseline = await startProcess(
    "bench/baseline-server.mjs",
    [],
    { PORT: String(baselinePort), REDIS_URL: redisUrl, REDIS_KEY_PREFIX: baselinePrefix, NODE_FLAGS },
    SERVER_CPU,
    async () =>
      (await fetch(`http://127.0.0.1:${baselinePort}/e?bandId=DEMO-0001`, { redirect: "manual" })).status ===
      302
  )

  return [
    { name: "tapline", port: taplinePort, pid: tapline.child.pid },
    { name: "baseline", port: baselinePort, pid: baseline.child.pid },
    ...(metricsOff === null ? [] : [{ name: "nometrics", port: withoutMetrics, pid: metricsOff.child.pid }]),
    ...(tracedServer === null ? [] : [{ name: "traced", port: traced, pid: tracedServer.child.pid, sink }])
  ]
}

/** The OTLP sink (bench/otlp-sink.mjs) on the load core, beside wrk and Redis; `stats()` reads its counts. */
export const startOtlpSink = async () => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  await startProcess("bench/otlp-sink.mjs", [], { PORT: String(port) }, LOAD_CPU, () => httpOk(url))
  return { url, stats: async () => (await fetch(url)).json() }
}
