// pnpm bench:streams — platform broker destinations (issue 32) against private Kafka, RabbitMQ and NATS:
// 1. per broker, one worker (writer + that broker's sink, CPU 0) draining the same pre-filled stream: the
//    sink's publish rate beside the PostgreSQL writer's (target: sink ≥ writer);
// 2. per broker, a bare client (the same library, no Tapline, on CPU 0) publishing the same messages in
//    batches of the same size, as many in flight, with the same acknowledgements: msgs/s of both and the ratio;
// 3. the redirect (bench:redirect's open loop and wrk) against two Tapline deployments, one with the three
//    platform sinks and one without, alternating rounds: median and p99 of each, the difference. By default
//    the production split (an `api` process on CPU 0, its worker with writer and sinks on CPU 1); the open
//    loop starts only once both workers have drained what wrk left, so it measures the redirect beside sinks
//    publishing live, not beside a backlog. BENCH_TOPOLOGY=all runs everything in one `all` process.
import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import { Redis } from "ioredis"
import Pg from "pg"
import { openLoop } from "./open-loop.mjs"
import { apiServerEnv, BANDS, bandPath, LOAD_CPU, SERVER_CPU, wrk } from "./redirect-servers.mjs"
import {
  barePublishers,
  NATS_IN_FLIGHT,
  RABBIT_CHANNELS,
  rabbitCapture,
  startBrokers
} from "./streams-brokers.mjs"
import {
  benchTaps,
  cpuSeconds,
  createDatabase,
  freePort,
  httpOk,
  redisPrefix,
  redisUrl,
  runBench,
  sleep,
  startProcess,
  startRedis
} from "./support.mjs"

const TAPS = Number(process.env.BENCH_TAPS ?? 50_000)
// TAP_WRITER_BATCH's default: what the sink's consume loop reads at once, and the bare client's batch.
const BATCH = 5000
const CONCURRENCY = 2
const RATE = Number(process.env.BENCH_RATE ?? 1000)
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 15)
const WRK_SECONDS = Number(process.env.BENCH_WRK_SECONDS ?? 10)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const STREAM = "{taps}:stream"
// The redirect comparison with api and worker processes apart (sinks only in the worker), unless
// BENCH_TOPOLOGY=all: redirect, writer and sinks in one process.
const SPLIT = process.env.BENCH_TOPOLOGY !== "all"
// BENCH_PARTS=redirect: the redirect comparison only; BENCH_PARTS=sinks: the sinks only.
const PARTS = process.env.BENCH_PARTS ?? "sinks,redirect"
// BENCH_KINDS=rabbitmq,nats: the sink part for those brokers only.
const KINDS = (process.env.BENCH_KINDS ?? "kafka,rabbitmq,nats").split(",")
const run = randomUUID().slice(0, 8)
const PROFILE_DIR = process.env.BENCH_API_PROFILE
const BROKER_ENV = process.env.BENCH_BROKER_ENV ?? "both"
const withoutBrokers = (env) =>
  Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("BROKER_")))

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const pin = (cpu) =>
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(process.pid)], { stdio: "ignore" })

/** Where a platform destination of `kind` publishes, on the private brokers: `name` its topic/exchange/stream. */
const urlOf = (brokers, kind, name) =>
  kind === "kafka"
    ? `kafka://${brokers.kafka.bootstrap}/${name.toLowerCase()}`
    : kind === "rabbitmq"
      ? `${brokers.rabbit.url}/${name.toLowerCase()}`
      : `${brokers.nats.url}/${name.toUpperCase().replace(/[^A-Z0-9_-]/g, "_")}`

/** CPU `cpu`'s busy and stolen seconds so far (/proc/stat; busy = everything but idle and iowait). */
const coreSeconds = (cpu) => {
  const line = Fs.readFileSync("/proc/stat", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`cpu${cpu} `))
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number)
  const hz = 100
  return { busy: (user + nice + system + irq + softirq) / hz, steal: steal / hz }
}

/** A process's user and system CPU so far, in seconds (/proc/<pid>/stat). */
const userSystem = (pid) => {
  const fields = Fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }
}

/**
 * A process's main thread's context switches so far: voluntary ones are its event loop going to sleep with
 * nothing to do (one per wakeup), involuntary ones the scheduler taking the core away.
 */
const switches = (pid) => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const count = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0)
  return { wakeups: count("voluntary_ctxt_switches"), preempted: count("nonvoluntary_ctxt_switches") }
}

/** Redis's own CPU so far (user + system, main thread and children), in seconds. */
const redisCpu = async (client) => {
  const info = await client.info("cpu")
  const field = (name) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0)
  return field("used_cpu_sys") + field("used_cpu_user")
}

/** Each consumer group of `key` as an object (Redis 7's XINFO GROUPS answers flat name/value lists). */
const groupInfos = async (client, key) =>
  (await client.xinfo("GROUPS", key)).map((flat) =>
    Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])))
  )

/** A consumer group's progress: acknowledged = read − pending. */
const groups = async (client, key) =>
  Object.fromEntries(
    (await groupInfos(client, key)).map((g) => [g.name, Number(g["entries-read"] ?? 0) - Number(g.pending)])
  )

/** Taps/s of each group from its first acknowledgement to its last, polled every 50 ms. */
const drainRates = async (client, key, names) => {
  const first = {}
  const last = {}
  let progress = { at: Date.now(), total: -1 }
  while (names.some((n) => last[n] === undefined)) {
    const acked = await groups(client, key)
    const at = Date.now()
    const total = names.reduce((sum, n) => sum + acked[n], 0)
    if (total !== progress.total) progress = { at, total }
    if (at - progress.at > 120_000) throw new Error(`no progress in 120 s: ${JSON.stringify(acked)}`)
    for (const n of names) {
      if (first[n] === undefined && acked[n] > 0) first[n] = { at, n: acked[n] }
      if (last[n] === undefined && acked[n] >= TAPS) last[n] = { at, n: acked[n] }
    }
    await sleep(50)
  }
  return Object.fromEntries(
    names.map((n) => [n, ((last[n].n - first[n].n) / Math.max(1, last[n].at - first[n].at)) * 1000])
  )
}

/** Until every consumer group of `key` has read the whole stream and acknowledged it (lag 0, pending 0). */
const drained = async (client, key) => {
  const deadline = Date.now() + 300_000
  for (;;) {
    const infos = await groupInfos(client, key).catch(() => [])
    const idle = infos.every((g) => Number(g.pending) === 0 && Number(g.lag ?? 0) === 0)
    if (idle) return
    if (Date.now() > deadline) throw new Error(`${key}: not drained within 300 s`)
    await sleep(200)
  }
}

/** One worker, writer and one broker sink, draining TAPS taps: both rates; the taps and slug for the bare run. */
const sinkRun = async (brokers, kind) => {
  const label = `streams_${kind}`
  const databaseUrl = await createDatabase(label)
  const prefix = redisPrefix(label)
  const port = await freePort()
  const target = `bench-sink-${run}`
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    TAPLINE_DEMO: "1",
    LOG_LEVEL: "WARN",
    BROKER_DESTINATIONS: "bench",
    BROKER_BENCH_URL: urlOf(brokers, kind, target)
  }
  if (kind === "rabbitmq") await rabbitCapture(brokers, target.toLowerCase())
  // Seeds the demo tenant and creates the writers' group without writing anything, then stops.
  const seeding = await startProcess(
    "apps/api/dist/main.js",
    [],
    { ...env, TAPLINE_ROLE: "api" },
    SERVER_CPU,
    () => httpOk(`http://127.0.0.1:${port}/health/ready`)
  )
  seeding.child.kill("SIGTERM")
  await new Promise((r) => seeding.child.once("exit", r))
  const db = new Pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const { rows: bands } = await db.query(
    "select id, band_uid, event_id, organization_id from bands order by band_uid"
  )
  const { rows: orgs } = await db.query("select slug from organizations limit 1")
  await db.end()
  const taps = benchTaps(bands, TAPS)
  const client = new Redis(redisUrl)
  const key = `${prefix}${STREAM}`
  // The sink's group before the taps, so the writer's trimming keeps them for it.
  await client.xgroup("CREATE", key, "broker-bench", "0", "MKSTREAM").catch(() => {})
  for (let i = 0; i < taps.length; i += 5000) {
    const pipeline = client.pipeline()
    for (const tap of taps.slice(i, i + 5000)) pipeline.xadd(key, "*", "t", JSON.stringify(tap), "d", "0")
    await pipeline.exec()
  }
  console.log(`${kind}: one worker (writer + sink broker-bench, CPU ${SERVER_CPU}) drains ${TAPS} taps …`)
  const worker = await startProcess(
    "apps/api/dist/main.js",
    [],
    // BENCH_WORKER_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof": the draining worker's CPU profile.
    { ...env, TAPLINE_ROLE: "worker", NODE_FLAGS: process.env.BENCH_WORKER_FLAGS ?? "" },
    SERVER_CPU,
    () => httpOk(`http://127.0.0.1:${port}/health/live`)
  )
  const rates = await drainRates(client, key, ["writers", "broker-bench"])
  worker.child.kill("SIGTERM")
  await new Promise((r) => worker.child.once("exit", r))
  await client.quit()
  return { writer: rates.writers, sink: rates["broker-bench"], taps, slug: orgs[0].slug }
}

/** The same taps as the same CloudEvents (the server's own rendering), published by a bare client. */
const bareRun = async (brokers, kind, taps, slug) => {
  const CloudEvents = await import("../packages/server/dist/Streams/CloudEvents.js")
  const origin = new URL("http://127.0.0.1:3000")
  const messages = taps.map((tap) => {
    const m = CloudEvents.tap(origin, { id: tap.orgId, slug }, tap)
    return { ...m, slug: m.organizationSlug }
  })
  // As the modules publish by default; BENCH_BARE_CHANNELS / BENCH_BARE_IN_FLIGHT to compare with other settings.
  const publisher = await barePublishers[kind](
    brokers,
    kind === "nats" ? `BARE_${run}` : `bench-bare-${run}`,
    {
      ...(process.env.BENCH_BARE_CHANNELS ? { channels: Number(process.env.BENCH_BARE_CHANNELS) } : {}),
      ...(process.env.BENCH_BARE_IN_FLIGHT ? { inFlight: Number(process.env.BENCH_BARE_IN_FLIGHT) } : {})
    }
  )
  pin(SERVER_CPU)
  const started = Date.now()
  // As many batches in flight as the sink has: TAP_WRITER_CONCURRENCY (2) consume loops, except that the Kafka
  // module publishes one batch at a time (an idempotent producer's sequence must not interleave).
  const lanes = kind === "kafka" ? 1 : CONCURRENCY
  let next = 0
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < messages.length) {
        const at = next
        next += BATCH
        await publisher.publish(messages.slice(at, at + BATCH))
      }
    })
  )
  const rate = (messages.length / (Date.now() - started)) * 1000
  pin(LOAD_CPU)
  await publisher.close()
  return rate
}

/** bench:redirect's load against Tapline (`all` role) with and without the three sinks, alternating. */
const redirectRun = async (brokers) => {
  const redis = await startRedis(LOAD_CPU)
  const start = async (name, extra) => {
    const port = await freePort()
    const databaseUrl = await createDatabase(`streams_${name}`)
    const env = apiServerEnv(
      { port, databaseUrl, redisUrl: redis, prefix: `${name}:` },
      {
        TAPLINE_ROLE: "all",
        TAP_TRACE_RATIO: "0",
        ...extra
      }
    )
    if (!SPLIT) {
      console.log(`starting Tapline ${name} (all role, CPU ${SERVER_CPU}) …`)
      const server = await startProcess("apps/api/dist/main.js", [], env, SERVER_CPU, () =>
        httpOk(`http://127.0.0.1:${port}/health/ready`)
      )
      return { name, port, pid: server.child.pid }
    }
    // The production split: the redirect in an `api` process (CPU 0), writer and sinks in a worker (CPU 1).
    console.log(`starting Tapline ${name} (api role on CPU ${SERVER_CPU}, worker on CPU ${LOAD_CPU}) …`)
    // BENCH_API_FLAGS: more node flags for the api process. BENCH_API_PROFILE=/tmp/prof: its CPU profile over
    // each fixed-rate loop, <pid>-<round>.cpuprofile (the pids are printed, to tell the deployments apart).
    const apiFlags = [
      env.NODE_FLAGS,
      process.env.BENCH_API_FLAGS,
      PROFILE_DIR ? `--require ${new URL("./profile-on-signal.cjs", import.meta.url).pathname}` : ""
    ]
      .filter(Boolean)
      .join(" ")
    // BENCH_BROKER_ENV=api or worker: the BROKER_* variables of the "sinks" deployment go to that process only,
    // to tell the api's own work with them configured from the other core's contention with the sinks; none:
    // to neither, two identical deployments (an A/A run: how far apart two processes are by chance alone).
    const only = (role) => (BROKER_ENV === "both" || BROKER_ENV === role ? env : withoutBrokers(env))
    const api = await startProcess(
      "apps/api/dist/main.js",
      [],
      { ...only("api"), TAPLINE_ROLE: "api", NODE_FLAGS: apiFlags, BENCH_PROFILE_DIR: PROFILE_DIR ?? "" },
      SERVER_CPU,
      () => httpOk(`http://127.0.0.1:${port}/health/ready`)
    )
    const workerPort = await freePort()
    const worker = await startProcess(
      "apps/api/dist/main.js",
      [],
      { ...only("worker"), PORT: String(workerPort), TAPLINE_ROLE: "worker" },
      LOAD_CPU,
      () => httpOk(`http://127.0.0.1:${workerPort}/health/live`)
    )
    console.log(`  ${name}: api pid ${api.child.pid}, worker pid ${worker.child.pid}`)
    return { name, port, pid: api.child.pid, workerPid: worker.child.pid }
  }
  const target = `bench-redirect-${run}`
  await rabbitCapture(brokers, target)
  const sinksEnv = {
    BROKER_DESTINATIONS: "k,r,n",
    BROKER_K_URL: urlOf(brokers, "kafka", target),
    BROKER_R_URL: urlOf(brokers, "rabbitmq", target),
    BROKER_N_URL: urlOf(brokers, "nats", target)
  }
  // BENCH_NOSINKS_FIRST=1: the deployment without sinks starts first (start order as a suspect of its own).
  const firstOff = process.env.BENCH_NOSINKS_FIRST === "1"
  const early = firstOff ? await start("nosinks", {}) : undefined
  const on = await start("sinks", sinksEnv)
  const off = early ?? (await start("nosinks", {}))
  const paths = Array.from({ length: BANDS }, (_, i) => bandPath(i))
  // cpu: the process serving the redirect, its CPU microseconds per answered request at the fixed rate. In the
  // split it is the one figure no other process's CPU can move: wrk, Redis, the worker and the brokers share
  // the other core, so its latency and throughput also measure their contention.
  const results = {
    sinks: { rps: [], p50: [], p99: [], cpu: [], worker: [], redis: [] },
    nosinks: { rps: [], p50: [], p99: [], cpu: [], worker: [], redis: [] }
  }
  for (const t of [on, off]) {
    wrk(t.port, 3)
    await openLoop({ port: t.port, host: "demo.localhost", paths, rate: RATE, seconds: 2 })
  }
  const client = new Redis(redis)
  // Both workers share CPU 1 with the load generators: neither may still be draining a backlog.
  const settle = () => Promise.all([on, off].map((t) => drained(client, `${t.name}:${STREAM}`)))
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of round % 2 === 1 ? [on, off] : [off, on]) {
      const closed = wrk(t.port, WRK_SECONDS)
      await settle()
      const cpuBefore = cpuSeconds(t.pid)
      // The other core's load beside it: this deployment's worker, and the Redis both deployments share.
      const workerBefore = SPLIT ? cpuSeconds(t.workerPid) : 0
      const redisBefore = await redisCpu(client)
      const coreBefore = coreSeconds(SERVER_CPU)
      const switchesBefore = switches(t.pid)
      const splitBefore = userSystem(t.pid)
      const profiling = PROFILE_DIR !== undefined && SPLIT
      if (profiling) process.kill(t.pid, "SIGUSR2")
      const open = await openLoop({
        port: t.port,
        host: "demo.localhost",
        paths,
        rate: RATE,
        seconds: RATE_SECONDS
      })
      const apiSeconds = cpuSeconds(t.pid) - cpuBefore
      const cpuPerRequest = (apiSeconds / open.completed) * 1e6
      const core = coreSeconds(SERVER_CPU)
      // What else ran on the api's core meanwhile (PostgreSQL and the kernel's threads are unpinned), and how
      // often it was preempted.
      const othersOnCore = core.busy - coreBefore.busy - apiSeconds
      const stolen = core.steal - coreBefore.steal
      const switched = switches(t.pid)
      const preemptions = switched.preempted - switchesBefore.preempted
      const perWakeup = open.completed / Math.max(1, switched.wakeups - switchesBefore.wakeups)
      const split = userSystem(t.pid)
      const userPerRequest = ((split.user - splitBefore.user) / open.completed) * 1e6
      const systemPerRequest = ((split.system - splitBefore.system) / open.completed) * 1e6
      if (profiling) process.kill(t.pid, "SIGUSR2")
      const workerPerRequest = SPLIT ? ((cpuSeconds(t.workerPid) - workerBefore) / open.completed) * 1e6 : 0
      const redisPerRequest = (((await redisCpu(client)) - redisBefore) / open.completed) * 1e6
      await settle()
      results[t.name].cpu.push(cpuPerRequest)
      results[t.name].worker.push(workerPerRequest)
      results[t.name].redis.push(redisPerRequest)
      results[t.name].rps.push(closed.rps)
      results[t.name].p50.push(open.p50)
      results[t.name].p99.push(open.p99)
      console.log(
        `  round ${round} ${t.name}: wrk ${closed.rps.toFixed(0)} req/s; ${RATE} req/s: p50 ${open.p50.toFixed(2)} ms, ` +
          `p99 ${open.p99.toFixed(2)} ms, ${open.completed} answered, errors ${open.errors}; ` +
          `${SPLIT ? "api" : "server"} CPU ${cpuPerRequest.toFixed(0)} µs/request ` +
          `(user ${userPerRequest.toFixed(0)}, system ${systemPerRequest.toFixed(0)})` +
          `${SPLIT ? `; worker ${workerPerRequest.toFixed(0)}, ` : "; "}Redis ${redisPerRequest.toFixed(0)}; ` +
          `CPU ${SERVER_CPU} beside it: others ${othersOnCore.toFixed(2)} s, stolen ${stolen.toFixed(2)} s, ` +
          `${preemptions} preemptions; api ${perWakeup.toFixed(2)} requests per wakeup`
      )
      await sleep(1000)
    }
  }
  client.disconnect()
  return results
}

const main = async () => {
  pin(LOAD_CPU)
  console.log("starting the private brokers …")
  // The redirect part publishes to all three.
  const brokers = await startBrokers(PARTS.includes("redirect") ? ["kafka", "rabbitmq", "nats"] : KINDS)
  const figures = {}
  for (const kind of PARTS.includes("sinks") ? KINDS : []) {
    const sink = await sinkRun(brokers, kind)
    const bare = await bareRun(brokers, kind, sink.taps, sink.slug)
    figures[kind] = { writer: sink.writer, sink: sink.sink, bare }
    console.log(
      `${kind}: writer ${sink.writer.toFixed(0)} taps/s, sink ${sink.sink.toFixed(0)} msgs/s, bare ${bare.toFixed(0)} msgs/s`
    )
  }
  const redirect = PARTS.includes("redirect") ? await redirectRun(brokers) : undefined
  const load = Os.loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")
  console.log("")
  console.log(
    `bench:streams — ${TAPS} taps pre-filled; worker and bare clients on CPU ${SERVER_CPU}, ` +
      `brokers on CPU ${LOAD_CPU} (the bench's, inherited); ${Os.cpus().length} cores; load average ${load}`
  )
  if (Object.keys(figures).length > 0) {
    const channels = process.env.BENCH_BARE_CHANNELS ?? RABBIT_CHANNELS
    const inFlight = process.env.BENCH_BARE_IN_FLIGHT ?? NATS_IN_FLIGHT
    console.log(
      `bare clients publish as the modules do: RabbitMQ on ${channels} confirm channel(s), a key always on one; ` +
        `NATS a sliding window of ${inFlight} JetStream publishes; Kafka idempotent, one request at a time`
    )
  }
  for (const kind of Object.keys(figures)) {
    const f = figures[kind]
    console.log(
      `${kind.padEnd(8)} sink ${f.sink.toFixed(0).padStart(6)} msgs/s  writer ${f.writer.toFixed(0).padStart(6)} taps/s  ` +
        `sink/writer ${(f.sink / f.writer).toFixed(2)} (target ≥ 1)   bare client ${f.bare.toFixed(0).padStart(6)} msgs/s  ` +
        `sink/bare ${(f.sink / f.bare).toFixed(2)}`
    )
  }
  if (redirect === undefined) return
  const m = (name, key) => median(redirect[name][key])
  const diff = (key) => `${(((m("sinks", key) - m("nosinks", key)) / m("nosinks", key)) * 100).toFixed(1)} %`
  console.log(
    `redirect (${SPLIT ? "api and worker processes" : "all role"}), ${ROUNDS} alternating rounds (wrk -c50 ${WRK_SECONDS} s; open loop ${RATE} req/s ${RATE_SECONDS} s), medians of rounds:`
  )
  for (const name of ["sinks", "nosinks"]) {
    console.log(
      `  ${name === "sinks" ? "three sinks on " : "sinks off      "} wrk ${m(name, "rps").toFixed(0)} req/s   ` +
        `p50 ${m(name, "p50").toFixed(2)} ms   p99 ${m(name, "p99").toFixed(2)} ms   ` +
        `CPU ${m(name, "cpu").toFixed(0)} µs/request (worker ${m(name, "worker").toFixed(0)}, ` +
        `Redis ${m(name, "redis").toFixed(0)})`
    )
  }
  console.log(
    `  on vs off: throughput ${diff("rps")}, p50 ${diff("p50")}, p99 ${diff("p99")}, ` +
      `${SPLIT ? "api" : "server"} CPU per request ${diff("cpu")} (target: medians within 3 %)`
  )
}

runBench(main)
