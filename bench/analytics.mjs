// pnpm bench:analytics — analytics on an event with 10 million taps (BENCH_TAPS to change): the event
// summary, time series and device breakdown through the running server (served from rollups), beside the
// baseline of the same totals computed from the raw taps. Prints p50/p95 of each. The taps are seeded as a
// writer before migration 0016 left them (no device), so the run also times the device backfill job.
import Pg from "pg"
import {
  adminApi,
  cleanup,
  createDatabase,
  freePort,
  httpOk,
  redisPrefix,
  redisUrl,
  sleep,
  startProcess
} from "./support.mjs"

const TAPS = Number(process.env.BENCH_TAPS ?? 10_000_000)
const BANDS = 50_000
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200)
// Half iPhone, 3 in 10 Android, 2 in 10 a desktop (tap n gets USER_AGENTS[n % 10]).
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
const ANDROID =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
const DESKTOP =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
const USER_AGENTS = [IPHONE, IPHONE, IPHONE, IPHONE, IPHONE, ANDROID, ANDROID, ANDROID, DESKTOP, DESKTOP]
// The device codes the writer stores for them (Taps/Device.ts: 1 iOS, 2 Android, 3 other).
const DEVICES = [1, 1, 1, 1, 1, 2, 2, 2, 3, 3]
// Taps seeded as a writer before migration 0016 left them (no device), for the backfill job to classify; the
// rest as today's writer stores them. The backfill does about 5 000 taps/s here: all 10 M would take 35 min.
const UNCLASSIFIED = Math.min(TAPS, Number(process.env.BENCH_UNCLASSIFIED ?? 1_000_000))

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}
const time = async (f) => {
  const started = process.hrtime.bigint()
  await f()
  return Number(process.hrtime.bigint() - started) / 1e6
}
const measure = async (f) => {
  for (let i = 0; i < 10; i++) await f()
  const times = []
  for (let i = 0; i < REQUESTS; i++) times.push(await time(f))
  return { p50: percentile(times, 50), p95: percentile(times, 95) }
}
const fmt = ({ p50, p95 }) => `p50 ${p50.toFixed(1)} ms  p95 ${p95.toFixed(1)} ms`

const main = async () => {
  const databaseUrl = await createDatabase("analytics")
  const port = await freePort()
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisPrefix("analytics"),
    LOG_LEVEL: "WARN",
    TAPLINE_ROLE: "api"
  }
  const server = await startProcess("apps/api/dist/main.js", [], env, 0, () =>
    httpOk(`http://127.0.0.1:${port}/health/ready`)
  )
  const { api } = adminApi(port, databaseUrl)
  const org = await api("POST", "/api/v1/organizations", { slug: "bench", name: "Bench" })
  const start = Date.UTC(2026, 6, 1, 16, 0)
  const hours = 8
  const event = await api("POST", `/api/v1/organizations/${org.id}/events`, {
    name: "Festival",
    timezone: "Europe/Berlin",
    estimatedAttendees: 60_000,
    startsAt: new Date(start).toISOString(),
    endsAt: new Date(start + hours * 3_600_000).toISOString()
  })
  const windows = []
  for (const [i, type] of ["PRE", "LIVE", "POST"].entries()) {
    windows.push(
      await api("POST", `/api/v1/organizations/${org.id}/events/${event.id}/windows`, {
        type,
        url: `https://example.com/${type.toLowerCase()}`,
        startsAt: new Date(start + i * 3_600_000 * (hours / 3)).toISOString(),
        endsAt: new Date(start + (i + 1) * 3_600_000 * (hours / 3)).toISOString()
      })
    )
  }
  const csv = `band_uid\n${Array.from({ length: BANDS }, (_, i) => `FEST-${i}`).join("\n")}\n`
  await api("POST", `/api/v1/organizations/${org.id}/events/${event.id}/bands/import`, csv, "text/csv")

  const db = new Pg.Client({ connectionString: databaseUrl })
  await db.connect()
  await db.query(`select tapline_ensure_tap_partitions(12, 3)`)
  console.log(
    `generating ${TAPS.toLocaleString("en")} taps over ${hours} hours for ${BANDS} bands, ` +
      `${UNCLASSIFIED.toLocaleString("en")} of them without a device …`
  )
  const generated = await time(async () => {
    const chunk = 1_000_000
    for (let offset = 0; offset < TAPS; offset += chunk) {
      await db.query(
        `insert into taps (id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind,
           destination_url, tapped_at, user_agent, is_bot, is_duplicate, device)
         select gen_random_uuid(), $1, $2, b.id, b.band_uid, w.id, w.type, 'WINDOW', w.url, g.at, ($8::text[])[g.n % 10 + 1],
           g.n % 50 = 0, g.n % 17 = 0, case when g.n >= $10 then ($9::int2[])[g.n % 10 + 1] end
         from (select n, $4::timestamptz + ((n * 7919) % ($5::bigint * 3600000)) * interval '1 millisecond' as at
               from generate_series($6::bigint, $7::bigint) n) g
         join lateral (select id, band_uid from bands where event_id = $2 and band_uid = 'FEST-' || (g.n % $3)) b on true
         join windows w on w.event_id = $2 and g.at >= w.starts_at and g.at < w.ends_at`,
        [
          org.id,
          event.id,
          BANDS,
          new Date(start).toISOString(),
          hours,
          offset,
          Math.min(TAPS, offset + chunk) - 1,
          USER_AGENTS,
          DEVICES,
          UNCLASSIFIED
        ]
      )
      process.stdout.write(".")
    }
    await db.query(
      `update bands b set tap_count = c.taps, first_tap_at = c.first_at, last_tap_at = c.last_at
       from (select band_id, count(*) filter (where not is_bot) as taps, min(tapped_at) as first_at, max(tapped_at) as last_at
             from taps where event_id = $1 group by band_id) c where b.id = c.band_id`,
      [event.id]
    )
    await db.query(
      `insert into rollup_dirty (event_id, hour) select $1, h from generate_series($2::timestamptz, $3::timestamptz, interval '1 hour') h
       on conflict do nothing`,
      [event.id, new Date(start).toISOString(), new Date(start + (hours - 1) * 3_600_000).toISOString()]
    )
    await db.query("analyze")
  })
  console.log(
    `\ngenerated in ${(generated / 1000).toFixed(0)} s; waiting for the device backfill job (runs each minute) …`
  )
  // From the first tap it classifies (the job starts on the next minute) to the last.
  const unclassified = async () =>
    (await db.query("select count(*)::int as n from taps where device is null")).rows[0].n
  let backfillStarted = null
  const backfilled = await time(async () => {
    for (;;) {
      const left = await unclassified()
      if (left < UNCLASSIFIED && backfillStarted === null) backfillStarted = process.hrtime.bigint()
      if (left === 0) break
      await sleep(2000)
    }
  })
  const backfillRun = Number(process.hrtime.bigint() - (backfillStarted ?? process.hrtime.bigint())) / 1e6
  console.log(
    `backfilled the device of ${UNCLASSIFIED.toLocaleString("en")} taps in ${(backfillRun / 1000).toFixed(0)} s ` +
      `(${(backfilled / 1000).toFixed(0)} s from the end of seeding); waiting for the rollup job …`
  )
  const rolled = await time(async () => {
    for (;;) {
      const { rows } = await db.query("select count(*)::int as n from rollup_dirty")
      if (rows[0].n === 0) break
      await sleep(1000)
    }
  })
  console.log(`rolled up ${hours} hours within ${(rolled / 1000).toFixed(0)} s of marking them`)

  const base = `/api/v1/organizations/${org.id}/analytics/events/${event.id}`
  const summary = await api("GET", `${base}/summary`)
  const summaryTimes = await measure(() => api("GET", `${base}/summary`))
  const seriesTimes = await measure(() => api("GET", `${base}/timeseries`))
  const hourlyTimes = await measure(() => api("GET", `${base}/timeseries?bucket=hour`))
  const devices = await api("GET", `${base}/devices`)
  const deviceTimes = await measure(() => api("GET", `${base}/devices`))
  // Baseline: the same totals straight from the raw taps, as a system without rollups would.
  const rawRuns = Math.max(3, Math.floor(REQUESTS / 50))
  const raw = []
  for (let i = 0; i < rawRuns; i++) {
    raw.push(
      await time(() =>
        db.query(
          `select count(*) filter (where not is_bot), count(distinct band_id) filter (where not is_bot), mode, redirect_kind
           from taps where event_id = $1 group by mode, redirect_kind`,
          [event.id]
        )
      )
    )
  }
  console.log(
    `\nbench:analytics — event with ${summary.totalTaps + summary.botTaps} taps, ${summary.uniqueBands} unique bands`
  )
  console.log(`summary (rollups)          ${fmt(summaryTimes)}   (target p95 < 100 ms)`)
  console.log(`time series (minute)       ${fmt(seriesTimes)}`)
  console.log(`time series (hour)         ${fmt(hourlyTimes)}`)
  console.log(`device breakdown           ${fmt(deviceTimes)}   (target p95 < 100 ms)`)
  console.log(
    `  devices: ${JSON.stringify(devices)}; sums to the summary's ${summary.totalTaps}: ` +
      `${devices.ios + devices.android + devices.other + devices.unknown === summary.totalTaps}`
  )
  console.log(`baseline: totals from raw  p50 ${percentile(raw, 50).toFixed(0)} ms (${rawRuns} runs)`)
  console.log(`ratio raw/rollup summary p50: ${(percentile(raw, 50) / summaryTimes.p50).toFixed(0)}x`)
  await db.end()
  server.child.kill("SIGTERM")
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(cleanup)
