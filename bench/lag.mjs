// pnpm bench:lag — how long a tap takes from its 302 to its row in PostgreSQL while taps arrive at a steady
// 5 000 a second (DESIGN.md §9: stream-to-Postgres lag p99 < 2 s). One Tapline process in the default role
// (serves and writes) pinned to CPU 0, loaded by the open-loop generator from CPU 1; every 100 ms the newest
// stored tap's time is compared with the clock. The writer keeps stream order, so that gap is the lag of the
// tap just stored. No bare baseline here: the target is absolute, and bench:pipeline compares the writer
// with a bare consumer.
import Pg from "pg"
import { openLoop } from "./open-loop.mjs"
import { BANDS, bandPath, LOAD_CPU, NODE_FLAGS, pinToLoadCore, SERVER_CPU } from "./redirect-servers.mjs"
import { cleanup, createDatabase, freePort, httpOk, sleep, startProcess, startRedis } from "./support.mjs"

const RATE = Number(process.env.LAG_RATE ?? 5000)
const SECONDS = Number(process.env.LAG_SECONDS ?? 30)

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]

const main = async () => {
  pinToLoadCore()
  const redisUrl = await startRedis(LOAD_CPU)
  const databaseUrl = await createDatabase("lag")
  const port = await freePort()
  await startProcess(
    "apps/api/dist/main.js",
    [],
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      TAPLINE_DEMO: "1",
      LOG_LEVEL: "WARN",
      TAP_RATE_LIMIT_PER_MINUTE: "1000000000",
      TAP_UNKNOWN_BAND_LIMIT_PER_MINUTE: "1000000000",
      NODE_FLAGS
    },
    SERVER_CPU,
    () => httpOk(`http://127.0.0.1:${port}/health/ready`)
  )
  const db = new Pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const paths = Array.from({ length: BANDS }, (_, i) => bandPath(i))
  await openLoop({ port, host: "demo.localhost", paths, rate: 1000, seconds: 3 })

  const lags = []
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await db.query("select max(tapped_at) as newest from taps")
      if (rows[0].newest !== null) lags.push(Math.max(0, Date.now() - rows[0].newest.getTime()))
      await sleep(100)
    }
  })()
  const started = Date.now()
  const load = await openLoop({ port, host: "demo.localhost", paths, rate: RATE, seconds: SECONDS })
  sampling = false
  await sampler
  // The last taps are still on their way when the load stops: count once the writer has caught up (≤ 10 s).
  const storedSince = async () =>
    (await db.query("select count(*)::int as n from taps where tapped_at >= $1", [new Date(started)])).rows[0]
      .n
  let stored = await storedSince()
  for (const deadline = Date.now() + 10_000; stored < load.completed && Date.now() < deadline; ) {
    await sleep(100)
    stored = await storedSince()
  }
  await db.end()

  const sorted = [...lags].sort((a, b) => a - b)
  console.log(
    `\nbench:lag — ${RATE} taps/s for ${SECONDS} s into one Tapline process (role all, CPU 0, node ${NODE_FLAGS}); lag sampled every 100 ms`
  )
  console.log(
    `lag p50 ${percentile(sorted, 50)} ms   p99 ${percentile(sorted, 99)} ms   max ${sorted.at(-1)} ms   (${sorted.length} samples; target p99 < 2000 ms)`
  )
  console.log(
    `served ${load.completed} (errors ${load.errors}), redirect p99 ${load.p99.toFixed(2)} ms; stored ${stored}`
  )
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => cleanup())
