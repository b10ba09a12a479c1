// pnpm bench:redirect-cpu — the hot path's CPU time per request, a measure that holds on a busy machine where
// req/s does not: each server is offered a fixed rate (open loop), and its user + system CPU seconds
// (/proc/<pid>/stat) are divided by the requests it answered. Several builds can be compared in one run
// (BENCH_BUILDS="now=.,old=/path/to/checkout", each built): every build's server and the bare baseline are
// started side by side on CPU 0 and loaded in turn, the order rotated each repetition; medians are reported.
// A build may carry environment of its own ("nojobs=.:JOBS_ENABLED=false"). Each server's idle CPU (ms CPU per
// second, no load) is reported too: at a fixed rate it is part of the per-request figure. After each open-loop
// round a wrk round (BENCH_WRK_SECONDS, 0 to skip) gives the saturated figure. BENCH_PROFILE=1 also writes a
// --cpu-prof profile of each Tapline server (into BENCH_PROFILE_DIR).
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Redis } from "ioredis"
import { openLoop } from "./open-loop.mjs"
import {
  apiServerEnv,
  BANDS,
  bandPath,
  LOAD_CPU,
  NODE_FLAGS,
  pinToLoadCore,
  SERVER_CPU,
  wrk
} from "./redirect-servers.mjs"
import {
  cleanup,
  cpuSeconds,
  createDatabase,
  freePort,
  httpOk,
  requireCommand,
  sleep,
  startProcess,
  startRedis
} from "./support.mjs"

const RATE = Number(process.env.BENCH_RATE ?? 2000)
const SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 10)
const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 5)
const WRK_SECONDS = Number(process.env.BENCH_WRK_SECONDS ?? 10)
const IDLE_SECONDS = 3
// name=dir, or name=dir:KEY=value;KEY=value for a build run with extra environment.
const BUILDS = (process.env.BENCH_BUILDS ?? "now=.").split(",").map((spec) => {
  const name = spec.slice(0, spec.indexOf("="))
  const [dir, extra = ""] = spec.slice(spec.indexOf("=") + 1).split(":")
  const pairs = extra.split(";").filter((pair) => pair !== "")
  const env = Object.fromEntries(
    pairs.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)])
  )
  return { name, dir: Path.resolve(dir), env }
})
const PROFILE = process.env.BENCH_PROFILE === "1"
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR ?? Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-cpu-"))

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const main = async () => {
  requireCommand("wrk", "wrk")
  requireCommand("taskset", "util-linux")
  pinToLoadCore()
  const redisUrl = await startRedis(LOAD_CPU)
  const targets = []
  for (const [i, build] of BUILDS.entries()) {
    const databaseUrl = await createDatabase(`cpu${i}`)
    const port = await freePort()
    const profileDir = Path.join(PROFILE_DIR, build.name)
    console.log(`starting ${build.name} (${build.dir}) …`)
    const server = await startProcess(
      Path.join(build.dir, "apps/api/dist/main.js"),
      [],
      apiServerEnv(
        { port, databaseUrl, redisUrl, prefix: `cpu-${build.name}:` },
        {
          TAP_TRACE_RATIO: "0",
          SHUTDOWN_DRAIN_DELAY: "0 millis",
          ...build.env,
          NODE_FLAGS: PROFILE ? `${NODE_FLAGS} --cpu-prof --cpu-prof-dir=${profileDir}` : NODE_FLAGS
        }
      ),
      SERVER_CPU,
      () => httpOk(`http://127.0.0.1:${port}/health/ready`),
      // A loaded machine can take minutes to start several servers.
      300_000
    )
    targets.push({ name: build.name, port, child: server.child, profileDir })
  }

  const seed = new Redis(redisUrl, { keyPrefix: "baseline:" })
  const pipeline = seed.pipeline()
  for (let i = 0; i < BANDS; i++)
    pipeline.set(`band:DEMO-${String(i + 1).padStart(4, "0")}`, "https://example.com/demo/live")
  await pipeline.exec()
  await seed.quit()
  const baselinePort = await freePort()
  const baseline = await startProcess(
    "bench/baseline-server.mjs",
    [],
    { PORT: String(baselinePort), REDIS_URL: redisUrl, REDIS_KEY_PREFIX: "baseline:", NODE_FLAGS },
    SERVER_CPU,
    async () =>
      (await fetch(`http://127.0.0.1:${baselinePort}/e?bandId=DEMO-0001`, { redirect: "manual" })).status ===
      302,
    300_000
  )
  targets.push({ name: "baseline", port: baselinePort, child: baseline.child })

  const paths = Array.from({ length: BANDS }, (_, i) => bandPath(i))
  for (const t of targets) wrk(t.port, 3)
  for (const t of targets)
    await openLoop({ port: t.port, host: "demo.localhost", paths, rate: RATE, seconds: 2 })
  for (const t of targets) {
    t.samples = []
    t.saturated = []
  }
  // What each server burns with no load (timers, probes, the change feed), to tell apart from the requests'.
  const idleBefore = targets.map((t) => cpuSeconds(t.child.pid))
  await sleep(IDLE_SECONDS * 1000)
  targets.forEach((t, i) => {
    t.idlePerSecond = (cpuSeconds(t.child.pid) - idleBefore[i]) / IDLE_SECONDS
  })

  for (let rep = 0; rep < REPETITIONS; rep++) {
    const order = targets.map((_, i) => targets[(i + rep) % targets.length])
    for (const t of order) {
      const before = cpuSeconds(t.child.pid)
      const run = await openLoop({
        port: t.port,
        host: "demo.localhost",
        paths,
        rate: RATE,
        seconds: SECONDS
      })
      // The server may still be finishing the last turn's work (the journal write, the XADDs).
      await sleep(300)
      const cpu = cpuSeconds(t.child.pid) - before
      const us = (cpu * 1e6) / run.completed
      t.samples.push(us)
      console.log(
        `  rep ${rep + 1} ${t.name}: ${us.toFixed(1)} µs CPU/request (${cpu.toFixed(2)} s for ${run.completed}, errors ${run.errors}, p99 ${run.p99.toFixed(2)} ms)`
      )
    }
    if (WRK_SECONDS === 0) continue
    // Saturated (wrk, closed loop): the turns are full, so per-turn work is shared by many requests.
    for (const t of order) {
      const before = cpuSeconds(t.child.pid)
      const run = wrk(t.port, WRK_SECONDS)
      await sleep(300)
      const cpu = cpuSeconds(t.child.pid) - before
      const us = (cpu * 1e6) / run.requests
      t.saturated.push(us)
      console.log(
        `  rep ${rep + 1} wrk ${t.name}: ${us.toFixed(1)} µs CPU/request (${cpu.toFixed(2)} s for ${run.requests}, ${run.rps.toFixed(0)} req/s, non-3xx ${run.non2xx})`
      )
    }
  }

  const baselineTarget = targets.find((t) => t.name === "baseline")
  const base = median(baselineTarget.samples)
  const baseSaturated = WRK_SECONDS === 0 ? Number.NaN : median(baselineTarget.saturated)
  console.log("")
  console.log(
    `bench:redirect-cpu — open loop ${RATE} req/s for ${SECONDS}s, then wrk -t1 -c50 -d${WRK_SECONDS}s; ${REPETITIONS} repetitions in rotated order; servers on CPU ${SERVER_CPU} (node ${NODE_FLAGS}), load and a private Redis on CPU ${LOAD_CPU}; CPU = utime + stime (10 ms ticks)`
  )
  for (const t of targets) {
    const m = median(t.samples)
    console.log(
      `${t.name.padEnd(10)} at ${RATE} req/s ${m.toFixed(1).padStart(6)} µs CPU/request median (min ${Math.min(...t.samples).toFixed(1)}, max ${Math.max(...t.samples).toFixed(1)}; idle ${(t.idlePerSecond * 1e3).toFixed(0)} ms CPU/s)   baseline/this ${(base / m).toFixed(2)}`
    )
    if (WRK_SECONDS === 0) continue
    const s = median(t.saturated)
    console.log(
      `${t.name.padEnd(10)} saturated  ${s.toFixed(1).padStart(6)} µs CPU/request median (min ${Math.min(...t.saturated).toFixed(1)}, max ${Math.max(...t.saturated).toFixed(1)})   baseline/this ${(baseSaturated / s).toFixed(2)}`
    )
  }
  if (PROFILE) {
    for (const t of targets.filter((t) => t.profileDir !== undefined)) {
      await new Promise((resolve) => {
        t.child.once("exit", resolve)
        t.child.kill("SIGTERM")
      })
    }
    console.log(`profiles in ${PROFILE_DIR}`)
  }
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(cleanup)
