import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  attributeOf,
  createDatabase,
  deletePrefix,
  redisUrl,
  startOtlpReceiver,
  startPrivateRedis,
  uniquePrefix
} from "./support/Peers.js"
import {
  METRICS_TOKEN,
  outputContaining,
  type RunningServer,
  runCli,
  runMigrate,
  startServer,
  stopCleanly,
  waitUntilReady
} from "./support/ServerProcess.js"

/** A GET with a Host header of our choosing (fetch will not send one). */
const rawGet = (port: number, path: string, host: string) =>
  new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
    const req = Http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        headers: { host, "user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148" }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }))
      }
    )
    req.on("error", reject)
    req.end()
  })

/** A test with a server process: a Node start took over 30 s on this 2-core machine at a load of 30. */
const PROCESS_CAP = 120_000

/** Start-to-ready figures, printed at the end for the closing note and docs. */
const timings: Record<string, number> = {}
afterAll(() => {
  console.log(`start-to-ready (ms): ${JSON.stringify(timings)}`)
})

/*
 * Processes that exit on their configuration: each is a Node start and nothing else, independent of the others,
 * so they run side by side (one after another they were 45 s of a busy machine's run).
 */
describe.concurrent("start-up configuration errors", () => {
  const cases: ReadonlyArray<[Record<string, string>, string]> = [
    [{ PORT: "not-a-port" }, "PORT"],
    [{ DATABASE_POOL_MAX: "-3" }, "DATABASE_POOL_MAX"],
    [{ REDIS_MODE: "mesh" }, "REDIS_MODE"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "::not a url::" }, "OTEL_EXPORTER_OTLP_ENDPOINT"],
    // The drain is part of the shutdown: a delay as long as the timeout would end every stop in a forced exit.
    [{ SHUTDOWN_DRAIN_DELAY: "20 seconds", SHUTDOWN_TIMEOUT: "15 seconds" }, "SHUTDOWN_DRAIN_DELAY"]
  ]
  for (const [env, variable] of cases) {
    it(
      `a malformed ${variable} stops the process with one line naming it`,
      async () => {
        const server = await startServer(env)
        const code = await server.exited
        expect(code).toBe(1)
        const lines = server.stderr().trim().split("\n")
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${variable}: `))
      },
      PROCESS_CAP
    )
  }

  it(
    "metrics on an external database without METRICS_TOKEN stop the process with one line naming it",
    async () => {
      const database = await createDatabase()
      try {
        const server = await startServer({ DATABASE_URL: database.url, METRICS_TOKEN: "" })
        expect(await server.exited).toBe(1)
        const lines = server.stderr().trim().split("\n")
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(/^Invalid configuration: METRICS_TOKEN: required with DATABASE_URL/)
      } finally {
        await database.drop()
      }
    },
    PROCESS_CAP
  )

  it(
    "an unreachable database stops the process with one line saying where, without the password",
    async () => {
      const server = await startServer({
        DATABASE_URL: "postgres://tapline:hunter2-secret@127.0.0.1:1/tapline",
        DATABASE_CONNECT_TIMEOUT: "2 seconds"
      })
      expect(await server.exited).toBe(1)
      const lines = server.stderr().trim().split("\n")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain("PostgreSQL unreachable at 127.0.0.1:1/tapline")
      expect(server.output()).not.toContain("hunter2-secret")
    },
    PROCESS_CAP
  )
})

/*
 * Read-only checks share one server (a start on a fresh database is the slow part on a busy machine): the
 * admin API's answers, caching headers and telemetry do not depend on one another. The password in its
 * DATABASE_URL is there for the telemetry checks (never printed, never exported); trust authentication
 * ignores it.
 */
describe("external PostgreSQL and Redis: one server, several read-only checks", {
  timeout: PROCESS_CAP
}, () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>
  let server: RunningServer
  const prefix = uniquePrefix("api")
  /** The trace id of the caller whose request's log line the last check looks for. */
  const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"

  beforeAll(async () => {
    database = await createDatabase()
    receiver = await startOtlpReceiver()
    server = await startServer({
      DATABASE_URL: database.url.replace("postgres@", "postgres:pg-password-secret@"),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "tapline-test"
    })
    timings.external = await waitUntilReady(server)
  }, 120_000)

  afterAll(async () => {
    await server?.stop()
    await receiver?.close()
    await database?.drop()
    await deletePrefix(prefix)
  })

  it("reaches readiness, serves the OpenAPI document and docs", async () => {
    const ready = await fetch(`${server.url}/health/ready`)
    expect(await ready.json()).toEqual({
      status: "ready",
      // The journeys' tap sink (issue 33) runs beside every writer.
      checks: { database: "ok", redis: "ok", writer: "ok", journal: "ok", "sink:journeys": "ok" }
    })
    expect(await (await fetch(`${server.url}/health/live`)).json()).toEqual({ status: "live" })

    const openapi = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as {
      openapi: string
      paths: Record<string, unknown>
    }
    expect(openapi.openapi).toBe("3.1.0")
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(["/health/live", "/health/ready"]))
    const docs = await fetch(`${server.url}/api/v1/docs`)
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-type")).toContain("text/html")
    // The reference page reads the document the server publishes, links to it in plain HTML (visible if
    // scripts fail), and loads its viewer from this server: no CDN, it works without the internet.
    const html = await docs.text()
    expect(html).toContain('data-url="/api/v1/openapi.json"')
    expect(html).toContain('<a href="/api/v1/openapi.json">')
    expect(html).not.toMatch(/src="https?:/)
    const rssOf = () =>
      Number(/VmRSS:\s+(\d+)/.exec(Fs.readFileSync(`/proc/${server.child.pid}/status`, "utf8"))?.[1]) / 1024
    const rssBefore = rssOf()
    let rssAfterFive = 0
    for (let i = 0; i < 40; i++) {
      if (i === 5) rssAfterFive = rssOf()
      const viewer = await fetch(`${server.url}/api/v1/docs/api-reference.js`)
      expect(viewer.status).toBe(200)
      expect(viewer.headers.get("content-type")).toContain("javascript")
      const body = await viewer.text()
      expect(body.length).toBeGreaterThan(3_000_000)
      expect(body).toContain("@scalar/api-reference")
    }
    // Streamed from disk, not held: RSS levels off (after 5, after 40 requests; printed for the note).
    timings.viewerRssAfter5Mb = Math.round((rssAfterFive - rssBefore) * 10) / 10
    timings.viewerRssAfter40Mb = Math.round((rssOf() - rssBefore) * 10) / 10

    // Unknown routes are a typed 404, not a crash.
    expect((await fetch(`${server.url}/api/v1/nothing-here`)).status).toBe(404)
  })

  it("answers that carry secrets or personal data are never cached", async () => {
    // The built CLI: two runs here cost less than loading the server's sources for the in-process one.
    const boot = await runCli(["admin:bootstrap", "--email", "nostore@example.com"], {
      DATABASE_URL: database.url
    })
    expect(boot.code, boot.output).toBe(0)
    const key = /tlk_[A-Za-z0-9_-]+/.exec(boot.output)?.[0] ?? ""
    const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" }
    const org = await fetch(`${server.url}/api/v1/organizations`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ slug: "nostore", name: "No store" })
    })
    const { id } = (await org.json()) as { id: string }
    const created = await fetch(`${server.url}/api/v1/organizations/${id}/api-keys`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "ci", role: "VIEWER" })
    })
    expect(created.status).toBe(201)
    expect(created.headers.get("cache-control")).toBe("no-store")
    const me = await fetch(`${server.url}/api/v1/me`, { headers: auth })
    expect(me.headers.get("cache-control")).toBe("no-store")
    const enrol = await fetch(`${server.url}/api/v1/me/totp`, { method: "POST", headers: auth, body: "{}" })
    expect(enrol.headers.get("cache-control")).toBe("no-store")
    const refused = await fetch(`${server.url}/api/v1/organizations/${id}/members`)
    expect(refused.status).toBe(401)
    expect(refused.headers.get("cache-control")).toBe("no-store")
  })

  it("exports spans over OTLP/HTTP that continue the caller's W3C traceparent, with secrets redacted", async () => {
    const parentSpanId = "00f067aa0ba902b7"
    await fetch(`${server.url}/health/live`, {
      headers: {
        traceparent: `00-${CALLER_TRACE}-${parentSpanId}-01`,
        authorization: "Bearer very-secret-token-value",
        cookie: "session=cookie-secret-value"
      }
    })
    const deadline = Date.now() + 15_000
    while (!receiver.spans.some((s) => s.traceId === CALLER_TRACE) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
    }
    const span = receiver.spans.find((s) => s.traceId === CALLER_TRACE)
    expect(span, `spans received: ${receiver.spans.length}`).toBeDefined()
    expect(span?.parentSpanId).toBe(parentSpanId)

    // The hot path is not on the HTTP stack, yet a sampled caller gets its span too.
    const tapTrace = "5bf92f3577b34da6a3ce929d0e0e4737"
    await new Promise<void>((resolve, reject) => {
      const req = Http.request(
        {
          host: "127.0.0.1",
          port: server.port,
          path: "/e?bandId=TRACE-1",
          headers: { host: "nobody.localhost", traceparent: `00-${tapTrace}-${parentSpanId}-01` }
        },
        (res) => {
          res.resume()
          res.on("end", () => resolve())
        }
      )
      req.on("error", reject)
      req.end()
    })
    const tapDeadline = Date.now() + 15_000
    while (!receiver.spans.some((s) => s.traceId === tapTrace) && Date.now() < tapDeadline) {
      await new Promise((r) => setTimeout(r, 100))
    }
    const tapSpan = receiver.spans.find((s) => s.traceId === tapTrace)
    expect(tapSpan?.name).toBe("GET /e")
    expect(tapSpan?.parentSpanId).toBe(parentSpanId)
    const exported = JSON.stringify(receiver.spans)
    expect(exported).not.toContain("very-secret-token-value")
    expect(exported).not.toContain("cookie-secret-value")
  })

  it("stops cleanly on SIGTERM, leaving the schema and no demo tenant; its log is JSON lines without secrets", async () => {
    await stopCleanly(server)
    const tables = await database.query<{ count: string }>(
      "select count(*) as count from information_schema.tables where table_name = 'audit_log'"
    )
    expect(tables[0]?.count).toBe("1")
    // TAPLINE_DEMO is off with an external database: no demo tenant.
    expect(await database.query("select * from organizations where slug = 'demo'")).toEqual([])
    // Every stdout line is one JSON object; the traced request's line carries the caller's trace id.
    const records = server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(records.some((r) => r.trace_id === CALLER_TRACE && r["http.url"] === "/health/live")).toBe(true)
    expect(server.output()).not.toContain("pg-password-secret")
  })
})

/*
 * One server with the demo for the checks that read it. Order matters: the SSE summary counts the demo
 * event's unique bands, so the trace test (which taps one more band) comes after it.
 */
describe("external PostgreSQL and Redis with TAPLINE_DEMO=1: one server, several checks", {
  timeout: PROCESS_CAP
}, () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>
  let server: RunningServer
  const prefix = uniquePrefix("demo")

  beforeAll(async () => {
    database = await createDatabase()
    receiver = await startOtlpReceiver()
    server = await startServer({
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      TAPLINE_DEMO: "1",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=otlp%20key%2C1,x-tenant=tapline",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=ci,service.namespace=tapline",
      // The admin API traces only what a sampled caller asks for; every redirect is traced.
      OTEL_TRACES_SAMPLER: "parentbased_always_off",
      TAP_TRACE_RATIO: "1"
    })
    await waitUntilReady(server)
  }, 120_000)

  afterAll(async () => {
    await server?.stop()
    await receiver?.close()
    await database?.drop()
    await deletePrefix(prefix)
  })

  it("seeds the demo tenant on an external database", async () => {
    expect(await outputContaining(server, "http://demo.localhost:")).toContain("/e?bandId=DEMO-0001")
    const bands = await database.query<{ count: string }>(
      "select count(*) as count from bands b join organizations o on o.id = b.organization_id where o.slug = 'demo'"
    )
    expect(bands[0]?.count).toBe("1000")
  })

  it("the live SSE stream reports an event's taps per second, and the summary its unique bands", async () => {
    const eventId = /eventId=([0-9a-f-]{36})/.exec(await outputContaining(server, "eventId="))?.[1]
    expect(eventId).toBeDefined()
    // The live endpoints sit behind the admin API's authentication: a bootstrap key from the CLI.
    const boot = await runCli(["admin:bootstrap", "--email", "ops@example.com"], {
      DATABASE_URL: database.url
    })
    expect(boot.code).toBe(0)
    const key = /^(tlk_\S+)$/m.exec(boot.output)?.[1]
    expect(key).toBeDefined()
    const headers = { authorization: `Bearer ${key}` }
    const orgs = (await (await fetch(`${server.url}/api/v1/organizations`, { headers })).json()) as {
      items: Array<{ id: string; slug: string }>
    }
    const orgId = orgs.items.find((org) => org.slug === "demo")?.id
    const live = `${server.url}/api/v1/organizations/${orgId}/events/${eventId}/live`
    expect((await fetch(live)).status).toBe(401)
    const controller = new AbortController()
    const response = await fetch(live, { headers, signal: controller.signal })
    expect(response.headers.get("content-type")).toContain("text/event-stream")
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    const tapping = (async () => {
      for (let i = 0; i < 12; i++) {
        await rawGet(server.port, `/e?bandId=DEMO-000${(i % 3) + 1}`, `demo.localhost:${server.port}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    })()
    const until = Date.now() + 4_000
    while (Date.now() < until) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    controller.abort()
    await tapping
    const events = text
      .split("\n\n")
      .filter((block) => block.startsWith("event: taps"))
      .map((block) => JSON.parse(block.split("data: ")[1]!) as { second: number; taps: number })
    expect(events.length).toBeGreaterThanOrEqual(3)
    expect(events.reduce((sum, e) => sum + e.taps, 0)).toBeGreaterThanOrEqual(1)
    const summary = (await (await fetch(`${live}/summary`, { headers })).json()) as {
      uniqueBands: number
    }
    expect(summary.uniqueBands).toBe(3)
  }, 120_000)

  it("a tap's trace goes on from its redirect to the writer's batch through the stream; OTEL_* variables are honoured", async () => {
    expect((await rawGet(server.port, "/e?bandId=DEMO-0007", "demo.localhost")).status).toBe(302)

    // This band's redirect: the server's earlier checks tapped other bands, traced too.
    const redirect = await receiver.waitFor(
      (span) => span.name === "GET /e" && attributeOf(span.attributes, "tapline.band_uid") === "DEMO-0007",
      "redirect span"
    )
    const batch = await receiver.waitFor(
      (span) =>
        span.name === "TapWriter.batch" &&
        (span.links ?? []).some(
          (link) => link.traceId === redirect.traceId && link.spanId === redirect.spanId
        ),
      "batch span linked to the redirect"
    )
    expect(batch.kind).toBe(5) // consumer
    // The batch's SQL is part of its trace.
    await receiver.waitFor(
      (span) => span.traceId === batch.traceId && span.parentSpanId === batch.spanId,
      "a child span of the batch"
    )
    // The link names the tap it stands for; that tap is the one stored.
    const link = batch.links!.find((l) => l.spanId === redirect.spanId)!
    const tapId = attributeOf(link.attributes, "tapline.tap_id")
    const stored = await database.query<{ band_uid: string }>(
      `select band_uid from taps where id = '${tapId}'`
    )
    expect(stored).toEqual([{ band_uid: "DEMO-0007" }])

    // Sampling: an admin request without a caller's decision is not exported, one from a sampled caller is.
    expect((await fetch(`${server.url}/api/v1/openapi.json`)).status).toBe(200)
    const callerTrace = "6bf92f3577b34da6a3ce929d0e0e4738"
    await fetch(`${server.url}/health/live`, {
      headers: { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` }
    })
    await receiver.waitFor((span) => span.traceId === callerTrace, "span of the sampled caller")
    expect(
      receiver.spans.filter((span) => attributeOf(span.attributes, "url.path") === "/api/v1/openapi.json")
    ).toEqual([])

    expect(receiver.headers.at(-1)?.["x-collector-key"]).toBe("otlp key,1")
    expect(receiver.headers.at(-1)?.["x-tenant"]).toBe("tapline")
    const resource = receiver.resources.at(-1)
    expect(attributeOf(resource, "deployment.environment")).toBe("ci")
    expect(attributeOf(resource, "service.namespace")).toBe("tapline")
  })

  it("stops cleanly on SIGTERM", async () => {
    await stopCleanly(server)
  })
})

/*
 * One after another: side by side they saved 6 s of 23 on a machine at a load of 6, and four starts sharing a
 * hogged machine's CPU would each come near waitUntilReady's limit.
 */
describe("external PostgreSQL and Redis: a process each", () => {
  it(
    "readiness answers 503 naming the failing dependency when Redis goes away, and recovers",
    async () => {
      const database = await createDatabase()
      const redis = await startPrivateRedis()
      try {
        const server = await startServer({ DATABASE_URL: database.url, REDIS_URL: redis.url })
        await waitUntilReady(server)
        await redis.kill()
        const response = await fetch(`${server.url}/health/ready`)
        expect(response.status).toBe(503)
        const body = (await response.json()) as { _tag: string; checks: Record<string, string> }
        // The writer may or may not have failed a read of the stream yet: that check is its own test's.
        expect(body).toMatchObject({
          _tag: "ServiceUnavailable",
          checks: { database: "ok", redis: "failing" }
        })
        expect((await fetch(`${server.url}/health/live`)).status).toBe(200)

        await redis.restart()
        const deadline = Date.now() + 15_000
        let status = 0
        while (status !== 200 && Date.now() < deadline) {
          status = (await fetch(`${server.url}/health/ready`)).status
          if (status !== 200) await new Promise((r) => setTimeout(r, 200))
        }
        expect(status).toBe(200)
        await stopCleanly(server)
      } finally {
        await redis.dispose()
        await database.drop()
      }
    },
    PROCESS_CAP
  )
  it(
    "TAPLINE_ROLE=worker serves its health probes and metrics, not the admin API nor the redirect",
    async () => {
      const database = await createDatabase()
      try {
        const server = await startServer({
          DATABASE_URL: database.url,
          TAPLINE_ROLE: "worker",
          TAPLINE_DEMO: "1"
        })
        await waitUntilReady(server)
        const ready = await fetch(`${server.url}/health/ready`)
        expect(ready.status).toBe(200)
        expect(await ready.json()).toMatchObject({ status: "ready", checks: { writer: "ok" } })
        expect((await fetch(`${server.url}/health/live`)).status).toBe(200)
        expect((await fetch(`${server.url}/api/v1/openapi.json`)).status).toBe(404)
        expect((await fetch(`${server.url}/api/v1/organizations`)).status).toBe(404)
        expect((await rawGet(server.port, "/e?bandId=DEMO-0001", "demo.localhost")).status).toBe(404)
        // The writer's metrics are scraped from the worker.
        const metrics = await fetch(`${server.url}/metrics`, {
          headers: { authorization: `Bearer ${METRICS_TOKEN}` }
        })
        expect(metrics.status).toBe(200)
        const text = await metrics.text()
        expect(text).toContain("# TYPE tapline_writer_batch_size histogram")
        await server.stop()
      } finally {
        await database.drop()
      }
    },
    PROCESS_CAP
  )

  it(
    "a port already in use stops the start with its reason, and no ready banner before it",
    async () => {
      const database = await createDatabase()
      const blocker = Http.createServer()
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))
      const { port } = blocker.address() as { port: number }
      try {
        const server = await startServer({
          DATABASE_URL: database.url,
          TAPLINE_DEMO: "1",
          PORT: String(port)
        })
        expect(await server.exited).toBe(1)
        expect(server.stderr()).toContain("Tapline failed to start")
        expect(server.stderr()).toMatch(/EADDRINUSE|in use/)
        // The demo was seeded, but nothing said it was ready to tap.
        expect(server.output()).not.toContain("is ready")
      } finally {
        await new Promise((resolve) => blocker.close(resolve))
        await database.drop()
      }
    },
    PROCESS_CAP
  )
  it("pnpm migrate applies the migrations once and reports an up-to-date database after", async () => {
    const database = await createDatabase()
    try {
      const first = await runMigrate({ DATABASE_URL: database.url })
      expect(first.code).toBe(0)
      expect(first.output).toContain(
        '"applied":["initial","read_model_versions","api_keys","retention","rollup_dirty","exports","identity","serialized_urls","tap_dead_letters","export_objects","uploads","webhooks","audit_redact_sealed","trash_purge","outbound_refusals_scrubbed","device","setup_tokens","email_sign_ins","oauth_provider_errors","broker_destinations","registration_sources","registrants","journeys","registration_page","journey_trigger_marks","sms_push","sms_callbacks","reports","ai_usage","uuid_v7_monotonic","recaps"]'
      )
      const second = await runMigrate({ DATABASE_URL: database.url })
      expect(second.code).toBe(0)
      expect(second.output).toContain('"applied":[]')
    } finally {
      await database.drop()
    }
    // Two Node processes migrating a fresh database: over 30 s on this 2-core machine at a load of 30.
  }, 120_000)
})
describe("embedded default", () => {
  it("with no DATABASE_URL or REDIS_URL, starts on embedded PostgreSQL with the demo, and keeps its data", async () => {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-api-embedded-"))
    try {
      const first = await startServer({ TAPLINE_DATA_DIR: dataDir })
      timings.embeddedFirstStart = await waitUntilReady(first, 150_000)
      const ready = await (await fetch(`${first.url}/health/ready`)).json()
      expect(ready).toEqual({
        status: "ready",
        checks: {
          database: "ok",
          redis: "not_configured",
          writer: "ok",
          journal: "not_configured",
          "sink:journeys": "ok"
        }
      })
      await outputContaining(first, `http://demo.localhost:${first.port}/e?bandId=DEMO-0001`)
      await stopCleanly(first)

      const second = await startServer({ TAPLINE_DATA_DIR: dataDir })
      timings.embeddedRestart = await waitUntilReady(second, 150_000)
      await stopCleanly(second)
      expect(Fs.existsSync(Path.join(dataDir, "tapline.lock"))).toBe(false)

      // The data folder is a real PostgreSQL data directory: open it directly and query the demo.
      const db = await PGlite.create({ dataDir: Path.join(dataDir, "pg") })
      const bands = await db.query<{ count: number }>(
        "select count(*)::int as count from bands b join organizations o on o.id = b.organization_id where o.slug = 'demo'"
      )
      const live = await db.query<{ type: string }>(
        "select type from windows where starts_at <= now() and now() < ends_at"
      )
      const events = await db.query<{ count: number }>("select count(*)::int as count from events")
      await db.close()
      expect(bands.rows[0]?.count).toBe(1000)
      expect(live.rows.map((r) => r.type)).toEqual(["LIVE"])
      // Restarting re-centred the windows of the same event instead of creating another.
      expect(events.rows[0]?.count).toBe(1)
    } finally {
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
    // Embedded PostgreSQL started twice: a first start took over 90 s on this 2-core machine at a load of 30.
  }, 360_000)
})
