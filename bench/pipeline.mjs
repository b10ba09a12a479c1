// pnpm bench:pipeline — how fast one Tapline tap writer moves taps from the Redis Stream into PostgreSQL
// (idempotent insert, band statistics, acknowledgement, trimming), beside a bare consumer doing only
// XREADGROUP → plain multi-row INSERT → XACK on its own copy of the same entries.
// BENCH_BUILDS="now=.,old=/path/to/checkout" (each built) runs every build's writer on the same taps in one run,
// BENCH_ROUNDS times, the order rotated each round, and prints each build's median and its ratio to the first.
import { randomUUID } from "node:crypto"
import * as Path from "node:path"
import { Redis } from "ioredis"
import Pg from "pg"
import {
  benchTaps,
  cleanup,
  cpuSeconds,
  createDatabase,
  freePort,
  httpOk,
  redisPrefix,
  redisUrl,
  sleep,
  startProcess
} from "./support.mjs"

const TAPS = Number(process.env.BENCH_TAPS ?? 200_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1)
const BUILDS = (process.env.BENCH_BUILDS ?? "now=.").split(",").map((spec) => ({
  name: spec.slice(0, spec.indexOf("=")),
  dir: Path.resolve(spec.slice(spec.indexOf("=") + 1))
}))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const STREAM = "{taps}:stream"

const fill = async (client, taps) => {
  for (let i = 0; i < taps.length; i += 5000) {
    const pipeline = client.pipeline()
    for (const tap of taps.slice(i, i + 5000)) pipeline.xadd(STREAM, "*", "t", JSON.stringify(tap), "d", "0")
    await pipeline.exec()
  }
}

const countWhenDone = async (db, table, target) => {
  let first = null
  for (;;) {
    const { rows } = await db.query(`select count(*)::int as n from ${table}`)
    const n = rows[0].n
    if (n > 0 && first === null) first = { at: Date.now(), n }
    if (n >= target) return { first, last: { at: Date.now(), n } }
    await sleep(50)
  }
}

/** One build's writer draining TAPS taps from a fresh database and stream: taps/s, CPU share, band counts. */
const writerRun = async (build, label) => {
  const databaseUrl = await createDatabase(label)
  const prefix = redisPrefix(label)
  const port = await freePort()
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    TAPLINE_DEMO: "1",
    LOG_LEVEL: "WARN",
    ...(process.env.NODE_FLAGS ? { NODE_FLAGS: process.env.NODE_FLAGS } : {}),
    ...(process.env.TAP_WRITER_BATCH ? { TAP_WRITER_BATCH: process.env.TAP_WRITER_BATCH } : {}),
    ...(process.env.TAP_WRITER_CONCURRENCY
      ? { TAP_WRITER_CONCURRENCY: process.env.TAP_WRITER_CONCURRENCY }
      : {})
  }
  const main = Path.join(build.dir, "apps/api/dist/main.js")
  // Seed the demo tenant and create the consumer group without writing anything, then stop.
  const seeding = await startProcess(main, [], { ...env, TAPLINE_ROLE: "api" }, 0, () =>
    httpOk(`http://127.0.0.1:${port}/health/ready`)
  )
  seeding.child.kill("SIGTERM")
  await new Promise((r) => seeding.child.once("exit", r))

  const db = new Pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const { rows: bands } = await db.query(
    "select b.id, b.band_uid, b.event_id, b.organization_id from bands b order by b.band_uid"
  )
  const taps = benchTaps(bands, TAPS, { varied: true })
  const redis = new Redis(redisUrl, { keyPrefix: prefix })
  console.log(`${build.name}: filling the stream with ${TAPS} taps …`)
  await fill(redis, taps)

  console.log(`${build.name}: one Tapline tap writer (worker role, CPU 0) …`)
  const worker = await startProcess(main, [], { ...env, TAPLINE_ROLE: "worker" }, 0, () =>
    httpOk(`http://127.0.0.1:${port}/health/live`)
  )
  const cpuBefore = cpuSeconds(worker.child.pid)
  const tapline = await countWhenDone(db, "taps", TAPS)
  const cpu = (cpuSeconds(worker.child.pid) - cpuBefore) / ((tapline.last.at - tapline.first.at) / 1000)
  const rate = ((tapline.last.n - tapline.first.n) / (tapline.last.at - tapline.first.at)) * 1000
  const { rows: counted } = await db.query("select sum(tap_count)::int as counted from bands")
  worker.child.kill("SIGTERM")
  await new Promise((r) => worker.child.once("exit", r))
  await redis.quit()
  return { rate, cpu, counted: counted[0].counted, prefix, taps, db }
}

/** The bare consumer on its own group of a fresh stream holding the same entries, into a plain table. */
const bareRun = async ({ prefix, taps, db }) => {
  const redis = new Redis(redisUrl, { keyPrefix: prefix })
  await redis.del(STREAM)
  await redis.xgroup("CREATE", `${prefix}${STREAM}`, "bare", "0", "MKSTREAM")
  await fill(redis, taps)
  await db.query("create table bare_taps (like taps including all)")
  const consumer = new Redis(redisUrl, { keyPrefix: prefix })
  const started = Date.now()
  let stored = 0
  while (stored < TAPS) {
    const reply = await consumer.xreadgroup(
      "GROUP",
      "bare",
      randomUUID(),
      "COUNT",
      5000,
      "STREAMS",
      STREAM,
      ">"
    )
    const entries = reply?.[0]?.[1] ?? []
    if (entries.length === 0) continue
    const batch = entries.map(([, fields]) => JSON.parse(fields[1]))
    const column = (f) => batch.map(f)
    await db.query(
      `insert into bare_taps (id, organization_id, event_id, band_id, band_uid, redirect_kind, destination_url, tapped_at, user_agent, client_ip, is_bot, is_duplicate)
       select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::inet[], $11::boolean[], $12::boolean[])`,
      [
        column((t) => t.id),
        column((t) => t.orgId),
        column((t) => t.eventId),
        column((t) => t.bandId),
        column((t) => t.bandUid),
        column((t) => t.kind),
        column((t) => t.url),
        column((t) => new Date(t.at)),
        column((t) => t.ua),
        column((t) => t.ip),
        column((t) => t.bot),
        column((t) => t.dup)
      ]
    )
    await consumer.xack(STREAM, "bare", ...entries.map(([id]) => id))
    stored += entries.length
  }
  const bareRate = (TAPS / (Date.now() - started)) * 1000
  await consumer.quit()
  await redis.quit()
  return bareRate
}

const main = async () => {
  const runs = Object.fromEntries(BUILDS.map((b) => [b.name, []]))
  const bares = []
  for (let round = 0; round < ROUNDS; round++) {
    const order = BUILDS.map((_, i) => BUILDS[(i + round) % BUILDS.length])
    for (const [i, build] of order.entries()) {
      const run = await writerRun(build, `r${round}${build.name}`)
      // The bare consumer once a round, on the first build's database (same schema, same taps).
      if (i === 0) bares.push(await bareRun(run))
      await run.db.end()
      runs[build.name].push(run)
      console.log(
        `round ${round + 1} ${build.name}: ${run.rate.toFixed(0)} taps/s, CPU ${(run.cpu * 100).toFixed(0)}%`
      )
    }
  }
  const bareRate = median(bares)
  const first = median(runs[BUILDS[0].name].map((r) => r.rate))
  console.log("")
  console.log(
    `bench:pipeline — ${TAPS} taps (5% bots, 1 000 bands) from a pre-filled stream, ${ROUNDS} round(s)`
  )
  for (const build of BUILDS) {
    const rate = median(runs[build.name].map((r) => r.rate))
    const cpu = median(runs[build.name].map((r) => r.cpu))
    const counted = runs[build.name].at(-1).counted
    console.log(
      `${build.name.padEnd(8)} writer ${rate.toFixed(0).padStart(7)} taps/s median (${runs[build.name]
        .map((r) => r.rate.toFixed(0))
        .join(", ")}); CPU ${(cpu * 100).toFixed(0)}% of one core; ` +
        `÷ ${BUILDS[0].name} ${(rate / first).toFixed(3)}; ÷ bare ${(rate / bareRate).toFixed(2)}; ` +
        `band counts ${counted} (non-bot taps ${TAPS - Math.ceil(TAPS / 20)})`
    )
  }
  console.log(
    `bare consumer   ${bareRate.toFixed(0).padStart(7)} taps/s median (plain insert into a table with the same indexes + ack)`
  )
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(cleanup)
