// Shared set-up for the benchmarks: a database and key prefix of their own, processes pinned to a core,
// clean-up on exit. Benchmarks run the built project (`pnpm build` first; the bench scripts do it).
import { execFileSync, spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import { Redis } from "ioredis"
import Pg from "pg"
import { v7 as uuidv7 } from "uuid"

export const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
export const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"
export const runId = `${Date.now()}_${process.pid}`

const cleanups = []
export const onExit = (f) => cleanups.push(f)
export const cleanup = async () => {
  for (const f of cleanups.reverse()) await f().catch(() => {})
}
process.on("SIGINT", () => cleanup().then(() => process.exit(130)))
process.on("SIGTERM", () => cleanup().then(() => process.exit(143)))

export const requireCommand = (name, debianPackage) => {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" })
  } catch {
    if (process.getuid?.() === 0) {
      console.log(`installing ${debianPackage}`)
      execFileSync(
        "sh",
        [
          "-c",
          `apt-get install -y -qq ${debianPackage} || (apt-get update -qq && apt-get install -y -qq ${debianPackage})`
        ],
        { stdio: "ignore" }
      )
    } else {
      throw new Error(`${name} is required: apt-get install ${debianPackage}`)
    }
  }
}

export const freePort = () =>
  new Promise((resolve) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

export const createDatabase = async (name) => {
  const admin = new Pg.Client({ connectionString: adminUrl })
  await admin.connect()
  const db = `tapline_bench_${name}_${runId}`
  await admin.query(`create database "${db}"`)
  await admin.end()
  onExit(async () => {
    const again = new Pg.Client({ connectionString: adminUrl })
    await again.connect()
    await again.query(`drop database if exists "${db}" with (force)`)
    await again.end()
  })
  const url = new URL(adminUrl)
  url.pathname = `/${db}`
  return url.toString()
}

export const redisPrefix = (name) => {
  const prefix = `tapline-bench:${runId}:${name}:`
  onExit(async () => {
    const client = new Redis(redisUrl)
    for await (const keys of client.scanStream({ match: `${prefix}*`, count: 1000 }))
      if (keys.length) await client.del(...keys)
    await client.quit()
  })
  return prefix
}

/** Starts `node file` pinned to `cpu`, resolves once `ready()` holds. */
export const startProcess = async (file, args, env, cpu, ready, timeoutMs = 60_000) => {
  const child = spawn(
    "taskset",
    [
      "-c",
      String(cpu),
      process.execPath,
      ...(env.NODE_FLAGS ? env.NODE_FLAGS.split(" ") : []),
      file,
      ...args
    ],
    {
      // /metrics needs a token off the embedded database; benchmarks scrape nothing.
      env: { ...process.env, METRICS_TOKEN: "tapline-bench-metrics-token", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  let output = ""
  child.stdout.on("data", (d) => (output += d))
  child.stderr.on("data", (d) => (output += d))
  onExit(
    () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once("exit", resolve)
        child.kill("SIGTERM")
        setTimeout(() => child.kill("SIGKILL"), 5000).unref()
      })
  )
  const deadline = Date.now() + timeoutMs
  while (!(await ready().catch(() => false))) {
    if (child.exitCode !== null) throw new Error(`${file} exited:\n${output}`)
    if (Date.now() > deadline) throw new Error(`${file} not ready:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return { child, output: () => output }
}

export const httpOk = async (url) => (await fetch(url)).status === 200

/** Resident and peak resident memory of a process, in MB. */
export const memory = (pid) => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rss: Math.round(kb("VmRSS") / 1024), peak: Math.round(kb("VmHWM") / 1024) }
}

/** CPU time a process has used so far (user + system), in seconds. */
export const cpuSeconds = (pid) => {
  const fields = Fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** A private redis-server pinned to `cpu`, without persistence, removed on exit. */
export const startRedis = async (cpu) => {
  const port = await freePort()
  const child = spawn(
    "taskset",
    [
      "-c",
      String(cpu),
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no"
    ],
    { stdio: "ignore" }
  )
  onExit(
    () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once("exit", resolve)
        child.kill("SIGKILL")
      })
  )
  const url = `redis://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    client.on("error", () => {})
    try {
      await client.connect()
      await client.ping()
      return url
    } catch {
      await sleep(100)
    } finally {
      client.disconnect()
    }
  }
  throw new Error("redis-server did not start")
}

/**
 * A platform ADMIN's key (`tapline admin:bootstrap`) and a JSON client of the admin API on `port` with it;
 * `api(method, path, body, contentType)` sends a string body as is, anything else as JSON.
 */
export const adminApi = (port, databaseUrl) => {
  const boot = spawnSync(
    process.execPath,
    ["apps/cli/dist/main.js", "admin:bootstrap", "--email", "bench@example.com"],
    {
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "WARN" },
      encoding: "utf8"
    }
  )
  const key = /^(tlk_\S+)$/m.exec(boot.stdout)?.[1]
  if (key === undefined) throw new Error(`admin:bootstrap failed:\n${boot.stdout}${boot.stderr}`)
  const api = async (method, path, body, contentType = "application/json") => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": contentType },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
    })
    if (response.status >= 300)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
    return response.json()
  }
  return { key, api }
}

/**
 * A fresh database and the built server on it, pinned to `cpu` and ready: the API role, WARN logs and a key
 * prefix of its own unless `env` says otherwise. Resolves with the process, its port and an admin caller.
 */
export const startTapline = async (name, env = {}, cpu = 0) => {
  const databaseUrl = await createDatabase(name)
  const port = await freePort()
  const server = await startProcess(
    process.env.BENCH_SERVER ?? "apps/api/dist/main.js",
    [],
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: redisPrefix(name),
      LOG_LEVEL: "WARN",
      TAPLINE_ROLE: "api",
      ...env
    },
    cpu,
    () => httpOk(`http://127.0.0.1:${port}/health/ready`)
  )
  return { server, port, databaseUrl, ...adminApi(port, databaseUrl) }
}

/** The analytics benches' event: "Festival" in Berlin, an 8-hour LIVE window from 16:00 UTC on 1 July 2026,
 * and `bands` bands FEST-0 … imported as CSV. */
export const festival = async (api, organizationId, bands) => {
  const events = `/api/v1/organizations/${organizationId}/events`
  const event = await api("POST", events, { name: "Festival", timezone: "Europe/Berlin" })
  const start = Date.UTC(2026, 6, 1, 16, 0)
  const hours = 8
  const window = await api("POST", `${events}/${event.id}/windows`, {
    type: "LIVE",
    url: "https://example.com/live",
    startsAt: new Date(start).toISOString(),
    endsAt: new Date(start + hours * 3_600_000).toISOString()
  })
  const csv = `band_uid\n${Array.from({ length: bands }, (_, i) => `FEST-${i}`).join("\n")}\n`
  await api("POST", `${events}/${event.id}/bands/import`, csv, "text/csv")
  return { event, window, start, hours }
}

/** Runs a bench's `main`, failing the process on an error, and always cleans up what it started. */
export const runBench = (main) =>
  main()
    .catch((error) => {
      console.error(error)
      process.exitCode = 1
    })
    .finally(cleanup)
    // A failed bench leaves its peers (SMTP, HTTP) listening, which kept the process alive until a timeout.
    .then(() => {
      if (process.exitCode === 1) process.exit(1)
    })

/**
 * `count` taps of the given bands (rows of `bands`: id, band_uid, event_id, organization_id) as the redirect
 * puts them on the stream, one millisecond apart and ending now. `varied`: every tenth with a UTM source and
 * every twentieth a bot, so the writer's branches for them run too.
 */
export const benchTaps = (bands, count, { varied = false } = {}) => {
  const now = Date.now()
  return Array.from({ length: count }, (_, i) => {
    const band = bands[i % bands.length]
    return {
      id: uuidv7(),
      orgId: band.organization_id,
      eventId: band.event_id,
      bandId: band.id,
      bandUid: band.band_uid,
      windowId: null,
      mode: "LIVE",
      kind: "FALLBACK",
      url: "https://example.com/demo/live",
      at: now - (count - i),
      ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
      ip: "203.0.113.0",
      utm: varied && i % 10 === 0 ? { source: "nfc" } : null,
      bot: varied && i % 20 === 0,
      dup: false,
      assign: null
    }
  })
}
