// pnpm bench:journeys — tap-triggered journeys under a flood of first taps, and what they cost the hot path
// and the writer. Tapline runs as in production: an api process (the redirect) on CPU 0, a worker (tap writer,
// the journeys' tap sink and sender) on CPU 1 with Redis, the load generator and the SMTP peer the worker sends
// to. The email provider is limited to BENCH_EMAIL_RATE messages a second by Tapline's own setting
// (JOURNEY_EMAIL_RATE, through the rate limiter on Redis); the peer checks the limit was kept.
//
// Each round runs two modes on fresh bands, in alternating order: "on" (an enabled first-tap journey with a
// BENCH_DELAY_MINUTES delay on the event) and "off" (the same event, registrants and load, no journey). Per mode:
//   1. BENCH_CAP first taps, one per registered band, at a constant rate over BENCH_LOAD_SECONDS (open loop):
//      the redirect's latency;
//   2. straight after, BENCH_WRITER_TAPS taps put on the stream at once: the writer's rate (rows/s from the
//      first to the last stored), while in "on" the sender works through the journey's backlog;
//   3. in "on", every message's tap-to-send time, read at the SMTP peer.
//
// Tap-to-send "above the configured delay, outside the rate limit" (the figure with the ≤ 2 s target), for
// message i: due_i = its band's first tap + the delay (journey_messages.due_at, no quiet hours); sent_i = when
// the peer accepted it (end of DATA). Sorted by due time, the earliest an ideal sender held to R messages a
// second could have started it is ideal_i = max(due_i, ideal_{i-1} + 1/R) (a D/D/1 queue: never idle while a
// message is due, never faster than R). excess_i = sent_i − ideal_i: everything that is Tapline's own (the
// stream, the sink, the queue, the poll, the claim, the send itself), and none of the waiting the limit forces.
// Printed too: the raw sent_i − due_i, which includes that waiting.
//
// BENCH_CHANNEL=sms|push (issue 34): the journey is on that channel, each registrant has a phone and SMS consent
// (sms) or one FCM device and push consent (push), and the worker sends through the real `twilio` or `fcm`
// provider module (SMS_PROVIDERS, PUSH_PROVIDERS) to an HTTP peer here that answers as Twilio's Messages API or
// FCM's token and messages:send endpoints do, held to BENCH_SMS_RATE / BENCH_PUSH_RATE (JOURNEY_SMS_RATE /
// JOURNEY_PUSH_RATE). sent_i is when the peer received the request, as for email.
import { fork } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Redis } from "ioredis"
import Pg from "pg"
import { NODE_FLAGS_FOR_ONE_CPU } from "./node-flags.mjs"
import { openLoop } from "./open-loop.mjs"
import { pinToLoadCore } from "./redirect-servers.mjs"
import {
  adminApi,
  benchTaps,
  createDatabase,
  freePort,
  httpOk,
  requireCommand,
  runBench,
  sleep,
  startProcess,
  startRedis
} from "./support.mjs"

const CAP = Number(process.env.BENCH_CAP ?? 10_000)
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 60)
const CHANNEL = process.env.BENCH_CHANNEL ?? "email"
if (!["email", "sms", "push"].includes(CHANNEL)) throw new Error("BENCH_CHANNEL: email, sms or push")
const RATE_VARIABLE = { email: "JOURNEY_EMAIL_RATE", sms: "JOURNEY_SMS_RATE", push: "JOURNEY_PUSH_RATE" }[
  CHANNEL
]
// The channel's provider limit (the name is email's, from before the other channels).
const EMAIL_RATE = Number(
  { email: process.env.BENCH_EMAIL_RATE, sms: process.env.BENCH_SMS_RATE, push: process.env.BENCH_PUSH_RATE }[
    CHANNEL
  ] ?? 100
)
const DELAY_MINUTES = Number(process.env.BENCH_DELAY_MINUTES ?? 1)
const WRITER_TAPS = Number(process.env.BENCH_WRITER_TAPS ?? 50_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
// worker: the worker sends (one process writes, queues and sends); jobs: a `TAPLINE_ROLE=jobs` process on CPU 0
// sends, so the writer's flood and the sender do not share a core.
const SENDER = process.env.BENCH_SENDER ?? "worker"
const PREFIX = "bj:"
const STREAM = "{taps}:stream"

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const percentile = (sorted, q) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)]

/**
 * The providers (journeys-peers.mjs) in a process of their own: this one builds and appends the writer's
 * flood of 50 000 taps at the moment the first messages fall due, and an SMTP peer here could not accept
 * mail meanwhile (every send then took about 3 s: the first messages' excess in session 24's runs was the
 * bench's, not Tapline's). `report()` fetches when each recipient's message was accepted.
 */
const startPeers = async () => {
  const child = fork(new URL("./journeys-peers.mjs", import.meta.url), [], { stdio: "inherit" })
  const replies = []
  child.on("message", (message) => replies.shift()?.(message))
  const ask = (request) =>
    new Promise((resolve) => {
      replies.push(resolve)
      if (request !== undefined) child.send(request)
    })
  const ports = await ask()
  const report = async () => {
    const { smtp, http } = await ask("report")
    return {
      email: { sent: new Map(smtp.sent), times: smtp.times },
      other: { sent: new Map(http.sent), times: http.times }
    }
  }
  return { ...ports, report, close: () => child.kill() }
}

/** The most messages accepted in any one second (a sliding window): the limit, if it was kept. */
const busiestSecond = (times) => {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= 1000) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

/** The worker's provider settings for the channel, pointed at the peer. */
const providerSettings = (port) => {
  const url = `http://127.0.0.1:${port}`
  if (CHANNEL === "sms")
    return {
      SMS_PROVIDERS: "twilio",
      TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
      TWILIO_AUTH_TOKEN: "bench-token",
      TWILIO_FROM: "+15005550006",
      TWILIO_API_URL: url
    }
  if (CHANNEL === "push") {
    const { privateKey } = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
    return {
      PUSH_PROVIDERS: "fcm",
      PUSH_FCM_SERVICE_ACCOUNT: JSON.stringify({
        type: "service_account",
        project_id: "bench",
        client_email: "bench@bench.iam.gserviceaccount.com",
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }),
        token_uri: `${url}/token`
      }),
      PUSH_FCM_TOKEN_URL: `${url}/token`,
      PUSH_FCM_API_URL: url
    }
  }
  return {}
}

const main = async () => {
  requireCommand("taskset", "util-linux")
  pinToLoadCore()
  const databaseUrl = await createDatabase("journeys")
  const redisUrl = await startRedis(1)
  const peers = await startPeers()
  let accepted = { email: { sent: new Map(), times: [] }, other: { sent: new Map(), times: [] } }
  const apiPort = await freePort()
  const workerPort = await freePort()
  const common = {
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: PREFIX,
    LOG_LEVEL: "WARN",
    TAP_RATE_LIMIT_PER_MINUTE: "1000000000",
    TAP_UNKNOWN_BAND_LIMIT_PER_MINUTE: "1000000000",
    TAPLINE_ENCRYPTION_KEYS: `1:${Buffer.alloc(32, 7).toString("base64")}`,
    NODE_FLAGS: NODE_FLAGS_FOR_ONE_CPU
  }
  console.log("starting Tapline: api on CPU 0, worker (writer, journeys) on CPU 1 …")
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
  const sending = {
    EMAIL_PROVIDERS: "smtp",
    SMTP_URL: `smtp://127.0.0.1:${peers.smtpPort}`,
    EMAIL_FROM: "Tapline <journeys@tapline.test>",
    ...providerSettings(peers.httpPort),
    [RATE_VARIABLE]: String(EMAIL_RATE)
  }
  await startProcess(
    "apps/api/dist/main.js",
    [],
    {
      ...common,
      ...sending,
      PORT: String(workerPort),
      TAPLINE_ROLE: "worker",
      // BENCH_SENDER=jobs: the worker writes and queues; a jobs process on the api's core sends.
      ...(SENDER === "jobs" ? { JOBS_ENABLED: "false" } : {}),
      TAP_SPOOL_DIR: Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-bench-worker-"))
    },
    1,
    () => httpOk(`http://127.0.0.1:${workerPort}/health/ready`)
  )
  if (SENDER === "jobs") {
    const jobsPort = await freePort()
    await startProcess(
      "apps/api/dist/main.js",
      [],
      { ...common, ...sending, PORT: String(jobsPort), TAPLINE_ROLE: "jobs" },
      0,
      () => httpOk(`http://127.0.0.1:${jobsPort}/health/ready`)
    )
  }
  const { api } = adminApi(apiPort, databaseUrl)
  const orgs = await api("GET", "/api/v1/organizations")
  const demo = (orgs.items ?? orgs).find((o) => o.slug === "demo")
  const db = new Pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const redis = new Redis(redisUrl, { keyPrefix: PREFIX })
  const { rows: demoBands } = await db.query(
    "select id, band_uid, event_id, organization_id from bands where organization_id = $1 order by band_uid",
    [demo.id]
  )
  const stored = async () => (await db.query("select count(*)::int as n from taps")).rows[0].n
  const waitStored = async (target) => {
    let first = null
    for (;;) {
      const n = await stored()
      if (first === null && n > target - WRITER_TAPS) first = { at: Date.now(), n }
      if (n >= target) return { first, last: { at: Date.now(), n } }
      await sleep(50)
    }
  }

  /** An event with a live window, CAP bands (CSV import), each with a registrant who consented to email. */
  const eventWithRegistrants = async (label) => {
    const events = `/api/v1/organizations/${demo.id}/events`
    const event = await api("POST", events, { name: `Journeys ${label}`, timezone: "Europe/Berlin" })
    await api("POST", `${events}/${event.id}/windows`, {
      type: "LIVE",
      url: "https://example.com/live",
      startsAt: new Date(Date.now() - 3_600_000).toISOString(),
      endsAt: new Date(Date.now() + 6 * 3_600_000).toISOString()
    })
    const uids = Array.from({ length: CAP }, (_, i) => `${label}-${i}`)
    await api("POST", `${events}/${event.id}/bands/import`, `band_uid\n${uids.join("\n")}\n`, "text/csv")
    await db.query(
      `with r as (
         insert into registrants (organization_id, band_id, email, phone, source)
         select organization_id, id, lower(band_uid) || '@people.test',
           '+4477' || lpad((row_number() over (order by band_uid))::text, 8, '0'), 'api'
         from bands where event_id = $1
         returning id, organization_id, email)
       , d as (
         insert into registrant_push_subscriptions (organization_id, registrant_id, kind, address)
         select organization_id, id, 'fcm', 'bench-token-' || email from r where $2 = 'push')
       insert into registrant_consents (registrant_id, channel, granted, at, source)
       select id, $2, true, now(), 'api' from r`,
      [event.id, CHANNEL]
    )
    return { event, uids }
  }

  const runMode = async (round, mode) => {
    const label = `r${round}${mode}`
    const { event, uids } = await eventWithRegistrants(label)
    const journey =
      mode === "on"
        ? await api("POST", `/api/v1/organizations/${demo.id}/journeys`, {
            eventId: event.id,
            name: "Welcome",
            trigger: { _tag: "first_tap" },
            delayMinutes: DELAY_MINUTES,
            channel: CHANNEL,
            subject: "Welcome to {{event}}",
            body: "Hi {{name}}, the programme: {{windowUrl}}\nUnsubscribe: {{unsubscribeUrl}}",
            enabled: true
          })
        : null
    await sleep(1000)
    const before = await stored()
    const load = await openLoop({
      port: apiPort,
      host: "demo.localhost",
      paths: uids.map((uid) => `/e?bandId=${uid}`),
      rate: CAP / LOAD_SECONDS,
      seconds: LOAD_SECONDS
    })
    const loadEnded = Date.now()
    // The writer, while in "on" the sender works through the backlog.
    await waitStored(before + load.completed)
    // The writer's taps: demo bands, put on the stream in pipelines of 5 000 as the redirect would.
    const fill = benchTaps(demoBands, WRITER_TAPS).map((tap) => JSON.stringify(tap))
    for (let i = 0; i < fill.length; i += 5000) {
      const pipeline = redis.pipeline()
      for (const tap of fill.slice(i, i + 5000)) pipeline.xadd(STREAM, "*", "t", tap, "d", "0")
      await pipeline.exec()
    }
    const writer = await waitStored(before + load.completed + WRITER_TAPS)
    // BENCH_WRITER_TAPS=0: the sender without the writer's flood beside it, and no writer figure.
    const writerRate =
      writer.first === null
        ? Number.NaN
        : ((writer.last.n - writer.first.n) / Math.max(1, writer.last.at - writer.first.at)) * 1000
    const run = { mode, p50: load.p50, p99: load.p99, errors: load.errors, writerRate }
    if (journey !== null) {
      const deadline = loadEnded + DELAY_MINUTES * 60_000 + (CAP / EMAIL_RATE) * 1000 + 180_000
      // Done when nothing is queued or in flight and no message has been added for 3 s (a tap the load
      // generator saw fail may still have been served and queued its message, or not).
      let counts
      let last = { total: -1, at: Date.now() }
      for (;;) {
        const { rows } = await db.query(
          "select status, count(*)::int as n from journey_messages where journey_id = $1 group by 1",
          [journey.id]
        )
        counts = Object.fromEntries(rows.map((r) => [r.status, r.n]))
        const total = rows.reduce((sum, r) => sum + r.n, 0)
        if (total !== last.total) last = { total, at: Date.now() }
        const pending = (counts.queued ?? 0) + (counts.sending ?? 0)
        if (pending === 0 && total > 0 && Date.now() - last.at > 3000) break
        if (Date.now() > deadline) throw new Error(`messages not all sent: ${JSON.stringify(counts)}`)
        await sleep(500)
      }
      const { rows } = await db.query(
        `select lower(b.band_uid) as uid, r.phone, m.due_at, m.created_at, m.sent_at
         from journey_messages m join bands b on b.id = m.band_id left join registrants r on r.band_id = b.id
         where m.journey_id = $1 order by m.due_at, m.id`,
        [journey.id]
      )
      const spacing = 1000 / EMAIL_RATE
      accepted = await peers.report()
      // When the provider's peer took it: the SMTP peer by address, the HTTP peer by phone or device token.
      const sentAtOf = (row) =>
        CHANNEL === "email"
          ? accepted.email.sent.get(`${row.uid}@people.test`)
          : accepted.other.sent.get(CHANNEL === "sms" ? row.phone : `bench-token-${row.uid}@people.test`)
      let ideal = Number.NEGATIVE_INFINITY
      const excess = []
      const raw = []
      // Where the time goes: from the tap to its message queued by the sink (the stream and the sink).
      const queued = rows
        .map((r) => r.created_at.getTime() - (r.due_at.getTime() - DELAY_MINUTES * 60_000))
        .sort((a, b) => a - b)
      let missing = 0
      for (const row of rows) {
        const due = row.due_at.getTime()
        ideal = Math.max(due, ideal + spacing)
        const sentAt = sentAtOf(row)
        if (sentAt === undefined) {
          missing++
          continue
        }
        excess.push(sentAt - ideal)
        raw.push(sentAt - due)
      }
      // Where a constant offset comes from: the first messages' tap → queued → sent, and their excess.
      const first = rows.slice(0, 3).map((row) => {
        const tap = row.due_at.getTime() - DELAY_MINUTES * 60_000
        const sentAt = sentAtOf(row)
        return `tap→queued ${row.created_at.getTime() - tap} ms, queued→sent ${sentAt === undefined ? "?" : sentAt - row.created_at.getTime()} ms`
      })
      console.log(
        `  first messages: ${first.join("; ")}; excess of the first 5: ${excess
          .slice(0, 5)
          .map((e) => e.toFixed(0))
          .join(", ")} ms`
      )
      excess.sort((a, b) => a - b)
      raw.sort((a, b) => a - b)
      const sends = rows.map(sentAtOf).filter((t) => t !== undefined)
      run.messages = { queued: rows.length, counts, missing }
      run.excess = {
        p50: percentile(excess, 50),
        p95: percentile(excess, 95),
        p99: percentile(excess, 99),
        max: excess.at(-1)
      }
      run.queued = { p50: percentile(queued, 50), p99: percentile(queued, 99) }
      run.raw = { p50: percentile(raw, 50), p99: percentile(raw, 99), max: raw.at(-1) }
      run.sendRate = ((sends.length - 1) / (Math.max(...sends) - Math.min(...sends))) * 1000
    }
    console.log(
      `  round ${round} journeys ${mode}: redirect at ${(CAP / LOAD_SECONDS).toFixed(0)} req/s p50 ${run.p50.toFixed(2)} ms p99 ${run.p99.toFixed(2)} ms (${run.errors} errors); writer ${run.writerRate.toFixed(0)} rows/s` +
        (run.excess
          ? `; ${run.messages.queued} queued ${JSON.stringify(run.messages.counts)}, sent at ${run.sendRate.toFixed(1)}/s; tap-to-send beyond the delay and the limit p50 ${run.excess.p50.toFixed(0)} ms p95 ${run.excess.p95.toFixed(0)} ms p99 ${run.excess.p99.toFixed(0)} ms max ${run.excess.max.toFixed(0)} ms (raw after the delay p50 ${run.raw.p50} ms p99 ${run.raw.p99} ms; tap to queued p50 ${run.queued.p50} ms p99 ${run.queued.p99} ms)`
          : "")
    )
    return run
  }

  const runs = { on: [], off: [] }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of round % 2 === 1 ? ["off", "on"] : ["on", "off"])
      runs[mode].push(await runMode(round, mode))
  }
  const m = (mode, f) => median(runs[mode].map(f))
  console.log("")
  console.log(
    `bench:journeys — ${ROUNDS} round(s), each mode on fresh bands: ${CAP} first taps (one per registered band) over ${LOAD_SECONDS}s (open loop), then ${WRITER_TAPS} taps on the stream at once; journey delay ${DELAY_MINUTES} min; channel ${CHANNEL}, provider limit ${EMAIL_RATE}/s (${RATE_VARIABLE}); api${SENDER === "jobs" ? " + jobs (the sender)" : ""} on CPU 0, worker + Redis + load + SMTP peer on CPU 1; ${Os.cpus().length} cores`
  )
  for (const mode of ["off", "on"])
    console.log(
      `journeys ${mode.padEnd(3)}  redirect p50 ${m(mode, (r) => r.p50).toFixed(2)} ms  p99 ${m(mode, (r) => r.p99).toFixed(2)} ms   writer ${m(mode, (r) => r.writerRate).toFixed(0)} rows/s   (medians)`
    )
  console.log(
    `on/off: redirect p50 ${(m("on", (r) => r.p50) / m("off", (r) => r.p50)).toFixed(3)}, p99 ${(m("on", (r) => r.p99) / m("off", (r) => r.p99)).toFixed(3)}; writer ${(m("on", (r) => r.writerRate) / m("off", (r) => r.writerRate)).toFixed(3)}`
  )
  console.log(
    `tap-to-send beyond the delay and the ${EMAIL_RATE}/s limit (worst round): p50 ${Math.max(...runs.on.map((r) => r.excess.p50)).toFixed(0)} ms  p95 ${Math.max(...runs.on.map((r) => r.excess.p95)).toFixed(0)} ms  p99 ${Math.max(...runs.on.map((r) => r.excess.p99)).toFixed(0)} ms (target ≤ 2000)   achieved send rate ${Math.min(...runs.on.map((r) => r.sendRate)).toFixed(1)}/s   busiest second at the peer ${busiestSecond(accepted[CHANNEL === "email" ? "email" : "other"].times)} messages`
  )
  await redis.quit()
  await db.end()
  peers.close()
}

runBench(main)
