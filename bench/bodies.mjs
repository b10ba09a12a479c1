// pnpm bench:bodies — what two concurrent 256 MB request bodies cost the built server: its resident memory
// rise while they arrive, and the redirect's latency meanwhile (a constant-rate open loop on /e) against the
// same loop when idle. The figure is the first two phases (two bodies at once, answered within tens of
// milliseconds, so the window is mostly quiet); the flood phases keep two bodies arriving for the whole window
// (each sender starts a new one as soon as the last is answered), a harsher load the issue does not set a target for. Bodies go anonymous to POST /api/v1/organizations as JSON, once with Content-Length
// ("sized") and once chunked (the server learns the size only by counting). BENCH_SERVER runs another build
// (e.g. a checkout of an older commit) with the same script.

import { spawn } from "node:child_process"
import * as Http from "node:http"
import { openLoop } from "./open-loop.mjs"
import { cpuSeconds, memory, runBench, sleep, startTapline } from "./support.mjs"

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

/** One sender: a new 256 MB body as soon as the last one is answered, until `until`, so that a body is always
 * arriving while the open loop runs (a server that refuses fast would otherwise be measured idle). */
const keepSending = async (options, until) => {
  const results = []
  while (Date.now() < until) results.push(await sendBody(options))
  return results
}

if (process.argv[2] === "--send") {
  const options = JSON.parse(process.argv[3])
  const until = options.flood ? Date.now() + options.seconds * 1000 : 0
  const results = await Promise.all(
    Array.from({ length: BODIES }, () =>
      options.flood ? keepSending(options, until) : sendBody(options).then((r) => [r])
    )
  )
  process.send(results.flat())
  process.exit(0)
}

/** The senders in a child process, so their work does not delay the open loop's clock in this one. */
const sendBodies = (options) =>
  new Promise((resolve, reject) => {
    // On the CPU the server is not pinned to: what the senders burn is the attacker's machine, not ours.
    const child = spawn(
      "taskset",
      ["-c", "1", process.execPath, new URL(import.meta.url).pathname, "--send", JSON.stringify(options)],
      {
        stdio: ["ignore", "inherit", "inherit", "ipc"]
      }
    )
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
const startBench = async (name) => {
  const { server, port, api } = await startTapline(`bodies_${name}`)
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
  for (const [chunked, flood] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true]
  ]) {
    const name = `${chunked ? "chunked" : "sized"}${flood ? " flood" : ""}`
    const { pid, port, loop, stop: stopServer } = await startBench(name)
    await loop(3) // warm-up
    const idleCpu = cpuSeconds(pid)
    const idle = await loop(SECONDS)
    idle.cpu = (cpuSeconds(pid) - idleCpu) / SECONDS
    await sleep(1000)
    const before = memory(pid).rss
    const stop = sampleRss(pid)
    const duringCpu = cpuSeconds(pid)
    const [during, senders] = await Promise.all([
      loop(SECONDS),
      sendBodies({ port, total: BODY_MB * MB, chunked, flood, seconds: SECONDS })
    ])
    const peak = stop()
    during.cpu = (cpuSeconds(pid) - duringCpu) / SECONDS
    stopServer()
    phases.push({ name, idle, during, senders, before, peak })
  }

  const ms = (x) => `${x.toFixed(2)} ms`
  const pct = (x) => `${Math.round(x * 100)}%`
  console.log("")
  console.log(
    `bench:bodies — ${BODIES} concurrent ${BODY_MB} MB anonymous JSON bodies (flood: each sender starts the next as soon as one is answered) to POST /api/v1/organizations; /e open loop at ${RATE} req/s for ${SECONDS} s; server ${SERVER}`
  )
  for (const { name, idle, during, senders, before, peak } of phases) {
    const counts = new Map()
    for (const s of senders) counts.set(s.status || s.error, (counts.get(s.status || s.error) ?? 0) + 1)
    const statuses = [...counts].map(([status, count]) => `${count}× ${status}`).join(", ")
    const sentMB = senders.map((s) => s.sentMB).sort((a, b) => a - b)
    const answers = `${statuses}; sent before the answer: median ${sentMB[sentMB.length >> 1]} MB, max ${sentMB.at(-1)} MB`
    console.log(
      `${name.padEnd(14)} RSS rise ${peak - before} MB (${before} → ${peak} MB)   /e p99 idle ${ms(idle.p99)}, during ${ms(during.p99)} (${(during.p99 / idle.p99).toFixed(2)}× idle; max ${ms(during.max)}, errors ${during.errors})   server CPU idle ${pct(idle.cpu)}, during ${pct(during.cpu)}   answers: ${answers}`
    )
  }
  console.log("targets: RSS rise ≤ 50 MB, /e p99 ≤ 2× idle")
}

runBench(main)
