// pnpm bench:bodies — what two concurrent 256 MB request bodies cost the built server: its resident memory
// rise while they arrive, and the redirect's latency meanwhile (a constant-rate open loop on /e) against the
// same loop when idle. Bodies go anonymous to POST /api/v1/organizations as JSON, once with Content-Length
// ("sized") and once chunked (the server learns the size only by counting). BENCH_SERVER runs another build
// (e.g. a checkout of an older commit) with the same script.

import { fork } from "node:child_process"
import * as Http from "node:http"
import { openLoop } from "./open-loop.mjs"
import {
  adminApi,
  cleanup,
  createDatabase,
  freePort,
  httpOk,
  memory,
  redisPrefix,
  redisUrl,
  sleep,
  startProcess
} from "./support.mjs"

const MB = 1024 * 1024
const BODY_MB = Number(process.env.BENCH_BODY_MB ?? 256)
const BODIES = Number(process.env.BENCH_BODIES ?? 2)
const RATE = Number(process.env.BENCH_RATE ?? 200)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const SERVER = process.env.BENCH_SERVER ?? "apps/api/dist/main.js"

/** One body, streamed as fast as the server takes it; stops at the answer. Runs in a child process. */
const sendBody = ({ port, total, chunked }) =>
  new Promise((resolve) => {
    const headers = { "content-type": "application/json" }
    headers[chunked ? "transfer-encoding" : "content-length"] = chunked ? "chunked" : String(total)
    const request = Http.request({
      host: "127.0.0.1",
      port,
      path: "/api/v1/organizations",
      method: "POST",
      headers,
      // Keep-alive, as browsers and curl ask: a client asking `Connection: close` is closed on right after the
      // 413, and its next write may fail on the reset before it reads the answer.
      agent: new Http.Agent({ keepAlive: true })
    })
    const started = Date.now()
    const fill = Buffer.alloc(256 * 1024, 0x61) // "a": one long JSON string
    const head = Buffer.from('{"name":"')
    const tail = Buffer.from('"}')
    let sent = 0
    let status = 0
    const finish = (error) => {
      request.destroy()
      resolve({ status, sentMB: Math.round(sent / MB), ms: Date.now() - started, error: error?.code })
    }
    const next = () => {
      if (sent === 0) return head
      const left = total - sent
      return left <= tail.length ? tail : fill.subarray(0, Math.min(fill.length, left - tail.length))
    }
    const pump = () => {
      while (status === 0 && sent < total) {
        const chunk = next()
        sent += chunk.length
        if (!request.write(chunk)) return void request.once("drain", pump)
      }
      if (sent >= total) request.end()
    }
    request.on("response", (response) => {
      status = response.statusCode
      response.resume()
      response.on("end", () => finish())
    })
    request.on("error", (error) => (status === 0 ? finish(error) : undefined))
    pump()
  })

if (process.argv[2] === "--send") {
  const options = JSON.parse(process.argv[3])
  const results = await Promise.all(Array.from({ length: BODIES }, () => sendBody(options)))
  process.send(results)
  process.exit(0)
}

/** The senders in a child process, so their work does not delay the open loop's clock in this one. */
const sendBodies = (options) =>
  new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ["--send", JSON.stringify(options)])
    child.once("message", resolve)
    child.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`senders exited ${code}`))))
  })

/** Samples the server's resident memory until stopped; resolves with the highest value, in MB. */
const sampleRss = (pid) => {
  let peak = memory(pid).rss
  const timer = setInterval(() => {
    peak = Math.max(peak, memory(pid).rss)
  }, 20)
  return () => {
    clearInterval(timer)
    return Math.max(peak, memory(pid).rss)
  }
}

const HOUR = 3_600_000

/** A fresh server with one band on an active event; resolves with its pid and the open loop on /e. */
const startTapline = async (name) => {
  const databaseUrl = await createDatabase(`bodies_${name}`)
  const port = await freePort()
  const server = await startProcess(
    SERVER,
    [],
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: redisPrefix(`bodies-${name}`),
      LOG_LEVEL: "WARN",
      TAPLINE_ROLE: "api"
    },
    0,
    () => httpOk(`http://127.0.0.1:${port}/health/ready`)
  )
  const { api } = adminApi(port, databaseUrl)
  const org = await api("POST", "/api/v1/organizations", {
    slug: "bodies",
    name: "Bodies",
    websiteUrl: "https://bodies.example/"
  })
  const events = `/api/v1/organizations/${org.id}/events`
  const event = await api("POST", events, { name: "Bench" })
  await api("POST", `${events}/${event.id}/windows`, {
    type: "LIVE",
    url: "https://bodies.example/live",
    startsAt: new Date(Date.now() - HOUR).toISOString(),
    endsAt: new Date(Date.now() + HOUR).toISOString()
  })
  await api("POST", `${events}/${event.id}/status`, { status: "ACTIVE" })
  await api("POST", `${events}/${event.id}/bands/import`, { bands: [{ bandUid: "B1" }] })
  const loop = (seconds) =>
    openLoop({ port, host: "127.0.0.1", paths: [`/e?bandId=B1&eventId=${event.id}`], rate: RATE, seconds })
  return { pid: server.child.pid, port, loop, stop: () => server.child.kill("SIGTERM") }
}

const main = async () => {
  const phases = []
  // A fresh server each: memory a phase took is not returned to the system in time for the next.
  for (const chunked of [false, true]) {
    const name = chunked ? "chunked" : "sized"
    const { pid, port, loop, stop: stopServer } = await startTapline(name)
    await loop(3) // warm-up
    const idle = await loop(SECONDS)
    await sleep(1000)
    const before = memory(pid).rss
    const stop = sampleRss(pid)
    const [during, senders] = await Promise.all([
      loop(SECONDS),
      sendBodies({ port, total: BODY_MB * MB, chunked })
    ])
    const peak = stop()
    stopServer()
    phases.push({ name, idle, during, senders, before, peak })
  }

  const ms = (x) => `${x.toFixed(2)} ms`
  console.log("")
  console.log(
    `bench:bodies — ${BODIES} concurrent ${BODY_MB} MB anonymous JSON bodies to POST /api/v1/organizations; /e open loop at ${RATE} req/s for ${SECONDS} s; server ${SERVER}`
  )
  for (const { name, idle, during, senders, before, peak } of phases) {
    const answers = senders
      .map((s) => `${s.status || s.error} after ${s.sentMB} MB sent, ${s.ms} ms`)
      .join("; ")
    console.log(
      `${name.padEnd(8)} RSS rise ${peak - before} MB (${before} → ${peak} MB)   /e p99 idle ${ms(idle.p99)}, during ${ms(during.p99)} (${(during.p99 / idle.p99).toFixed(2)}× idle; max ${ms(during.max)}, errors ${during.errors})   answers: ${answers}`
    )
  }
  console.log("targets: RSS rise ≤ 50 MB, /e p99 ≤ 2× idle")
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(cleanup)
