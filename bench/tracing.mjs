// pnpm bench:tracing — what tracing 1 % of redirects costs the hot path, read from a CPU profile rather than
// from throughput (two server processes differ by a few per cent on this machine whatever they run). Starts
// Tapline (api role, pinned to CPU 0) with TAP_TRACE_RATIO=0.01 exporting over OTLP to a sink on CPU 1, runs
// wrk against it under `--cpu-prof`, and reports the share of the busy CPU time spent in span creation, the
// exporter and its HTTP client: once per OTLP protocol.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import {
  apiServerEnv,
  LOAD_CPU,
  NODE_FLAGS,
  pinToLoadCore,
  SERVER_CPU,
  startOtlpSink,
  wrk
} from "./redirect-servers.mjs"
import {
  cleanup,
  createDatabase,
  freePort,
  httpOk,
  requireCommand,
  startProcess,
  startRedis
} from "./support.mjs"

const SECONDS = Number(process.env.BENCH_WRK_SECONDS ?? 15)
const TRACING = /@effect\/opentelemetry|Telemetry\/Tracing|FetchHttpClient|HttpClient\.js/
// The tracer's `context` wraps every fiber step: frames below it are not tracing's cost.
const WRAPPER = /^(defaultContext|context)$/

/**
 * The share of non-idle samples whose stack passes through a tracing frame (other than the wrapper), over the
 * last `windowSeconds` of the profile: the load, not the start-up before it.
 */
const tracingShare = (file, windowSeconds) => {
  const profile = JSON.parse(Fs.readFileSync(file, "utf8"))
  const times = []
  let clock = 0
  for (const dt of profile.timeDeltas) {
    clock += dt
    times.push(clock)
  }
  const from = clock - windowSeconds * 1e6
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parents = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  let busy = 0
  let tracing = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    if (times[i] < from || nodes.get(id).callFrame.functionName === "(idle)") return
    busy += dt
    for (let at = id; at !== undefined; at = parents.get(at)) {
      const { functionName, url } = nodes.get(at).callFrame
      if (!WRAPPER.test(functionName) && TRACING.test(url)) {
        tracing += dt
        return
      }
    }
  })
  return { share: tracing / busy, busySeconds: busy / 1e6 }
}

const main = async () => {
  requireCommand("wrk", "wrk")
  requireCommand("taskset", "util-linux")
  pinToLoadCore()
  const databaseUrl = await createDatabase("tracing")
  const redisUrl = await startRedis(LOAD_CPU)
  const sink = await startOtlpSink()
  const results = []
  for (const protocol of ["http/json", "http/protobuf"]) {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-bench-profile-"))
    const port = await freePort()
    const before = await sink.stats()
    const server = await startProcess(
      "apps/api/dist/main.js",
      [],
      apiServerEnv(
        { port, databaseUrl, redisUrl, prefix: `tracing-${protocol}:` },
        {
          TAP_TRACE_RATIO: "0.01",
          OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          NODE_FLAGS: `${NODE_FLAGS} --cpu-prof --cpu-prof-dir=${dir}`
        }
      ),
      SERVER_CPU,
      () => httpOk(`http://127.0.0.1:${port}/health/ready`)
    )
    wrk(port, 3)
    const run = wrk(port, SECONDS)
    // SIGTERM writes the profile; the exporter flushes what it holds first.
    await new Promise((resolve) => {
      server.child.once("exit", resolve)
      server.child.kill("SIGTERM")
    })
    const after = await sink.stats()
    const profile = Fs.readdirSync(dir).find((name) => name.endsWith(".cpuprofile"))
    const { share, busySeconds } = tracingShare(Path.join(dir, profile), SECONDS)
    Fs.rmSync(dir, { recursive: true, force: true })
    results.push({
      protocol,
      rps: run.rps,
      share,
      busySeconds,
      exports: after.requests - before.requests,
      kib: (after.bytes - before.bytes) / 1024
    })
  }
  console.log("")
  console.log(
    `bench:tracing — TAP_TRACE_RATIO=0.01, wrk -t1 -c50 -d${SECONDS}s on CPU ${LOAD_CPU}, server on CPU ${SERVER_CPU}`
  )
  for (const r of results) {
    console.log(
      `${r.protocol.padEnd(14)} ${r.rps.toFixed(0)} req/s   tracing ${(r.share * 100).toFixed(2)} % of busy CPU (${r.busySeconds.toFixed(1)} s busy)   ${r.exports} exports, ${r.kib.toFixed(0)} KiB`
    )
  }
  console.log("target: tracing < 1 % of the hot path's CPU")
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(cleanup)
