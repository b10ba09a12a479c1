import * as Fs from "node:fs"
import { afterAll, expect, layer } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { bootstrapKey, call, createTenant, liveEvent, ok } from "./support/AdminClient.js"
import { AdminServer, adminHarness, TAP_DOMAIN } from "./support/AdminHarness.js"
import { startCaptureServer } from "./support/CaptureServer.js"
import { request } from "./support/HotPathHarness.js"

/*
 * Issue 15, metrics: Prometheus scrapes /metrics (behind METRICS_TOKEN when set) and sees the counters move
 * with what the server does: redirects by kind, the writer's batches, admin requests, webhook deliveries,
 * jobs; gauges of the stream; labels without ids.
 */

const TOKEN = "metrics-token-for-the-test"
const receiver = await startCaptureServer()
receiver.fallback = () => ({ status: 204 })
afterAll(() => receiver.close())

/** The samples of the exposition text: `name{labels}` → value. */
const parse = (text: string) =>
  new Map(
    text
      .split("\n")
      .filter((line) => line.length > 0 && !line.startsWith("#"))
      .map((line) => {
        const at = line.lastIndexOf(" ")
        return [line.slice(0, at), Number(line.slice(at + 1))] as const
      })
  )

const scrape = Effect.flatMap(AdminServer, ({ url }) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/plain")
    const text = await response.text()
    return { text, samples: parse(text) }
  })
)

const value = (samples: Map<string, number>, key: string) => samples.get(key) ?? 0

layer(adminHarness({ METRICS_TOKEN: TOKEN, WEBHOOK_POLL_INTERVAL: "50 millis" }, { role: "all" }), {
  excludeTestServices: true,
  timeout: 120_000
})("metrics", (it) => {
  it.effect(
    "/metrics asks for the token, and its counters follow taps, batches, requests and deliveries",
    () =>
      Effect.gen(function* () {
        const { url, port } = yield* AdminServer
        expect((yield* Effect.promise(() => fetch(`${url}/metrics`))).status).toBe(401)
        expect(
          (yield* Effect.promise(() =>
            fetch(`${url}/metrics`, { headers: { authorization: "Bearer wrong" } })
          )).status
        ).toBe(401)

        const tenant = yield* createTenant(yield* bootstrapKey())
        yield* liveEvent(tenant, ["MET-SECRET-1"], "Metered")
        const hook = yield* ok(
          yield* call("POST", `/api/v1/organizations/${tenant.orgId}/webhooks`, {
            key: tenant.keys.OWNER,
            body: { url: `${receiver.url}/m`, eventTypes: ["export.ready"] }
          }),
          201
        )

        const before = (yield* scrape).samples
        const host = `${tenant.slug}.${TAP_DOMAIN}`
        for (let i = 0; i < 5; i++)
          expect((yield* request(port, "/e?bandId=MET-SECRET-1", { host })).status).toBe(302)
        expect((yield* request(port, "/e?bandId=MET-SECRET-1", { host, method: "POST" })).status).toBe(405)
        yield* ok(
          yield* call(
            "POST",
            `/api/v1/organizations/${tenant.orgId}/webhooks/${hook.body.endpoint.id}/test`,
            { key: tenant.keys.OWNER }
          ),
          202
        )

        const after = yield* scrape.pipe(
          Effect.filterOrFail(
            ({ samples }) =>
              value(samples, "tapline_writer_batch_size_sum") -
                value(before, "tapline_writer_batch_size_sum") >=
                5 &&
              value(samples, 'tapline_webhook_deliveries_total{kind="webhook",outcome="delivered"}') >
                value(before, 'tapline_webhook_deliveries_total{kind="webhook",outcome="delivered"}')
          ),
          Effect.retry(Schedule.spaced("200 millis")),
          Effect.timeout("30 seconds")
        )
        const delta = (key: string) => value(after.samples, key) - value(before, key)
        expect(delta('tapline_redirects_total{kind="WINDOW"}')).toBe(5)
        expect(delta('tapline_redirect_rejections_total{status="405"}')).toBe(1)
        // Five taps of one band within the duplicate interval: four duplicates; each lookup a hit or a miss.
        expect(delta("tapline_duplicate_taps_total")).toBe(4)
        expect(
          delta('tapline_redirect_lookups_total{result="hit"}') +
            delta('tapline_redirect_lookups_total{result="miss"}')
        ).toBe(5)
        expect(delta('tapline_redirect_lookups_total{result="hit"}')).toBeGreaterThanOrEqual(1)
        for (const name of [
          "tapline_recorder_buffered_taps",
          "tapline_journal_segments",
          "tapline_taps_spooled_total",
          "tapline_taps_replayed_total",
          "tapline_recorder_memory_taps",
          "tapline_taps_held_in_memory_total",
          'tapline_taps_lost_total{reason="memory_full"}',
          'tapline_taps_lost_total{reason="shutdown"}'
        ])
          expect(after.samples.has(name), name).toBe(true)
        expect(delta("tapline_writer_batch_duration_seconds_count")).toBeGreaterThanOrEqual(1)
        expect(delta("tapline_tap_store_lag_seconds_count")).toBeGreaterThanOrEqual(1)
        expect(after.samples.get("tapline_pg_pool_connections")).toBeGreaterThan(0)
        expect(
          delta('tapline_http_request_duration_seconds_count{route="api",status="2xx"}')
        ).toBeGreaterThanOrEqual(1)
        expect(after.samples.has("tapline_stream_length")).toBe(true)
        expect(after.samples.has("tapline_stream_pending")).toBe(true)
        expect(after.samples.has("tapline_webhook_deliveries_pending")).toBe(true)
        expect(after.samples.has("nodejs_eventloop_lag_p99_seconds")).toBe(true)
        expect(after.samples.has("nodejs_heap_size_used_bytes")).toBe(true)
        // Every metric the deploy/ rules and dashboard use is one this server exposes.
        const exposed = new Set([...after.text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!))
        const used = [
          Fs.readFileSync(new URL("../../../deploy/prometheus/tapline-rules.yml", import.meta.url), "utf8"),
          Fs.readFileSync(new URL("../../../deploy/grafana/tapline-dashboard.json", import.meta.url), "utf8")
        ].flatMap((text) => [...text.matchAll(/\b((?:tapline|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!))
        const base = (name: string) => name.replace(/_(bucket|count|sum)$/, "")
        expect([...new Set(used.map(base))].filter((name) => !exposed.has(name))).toEqual([])
        // Bounded labels: no band, organisation or endpoint id reaches the exposition.
        expect(after.text).not.toContain("MET-SECRET-1")
        expect(after.text).not.toContain(tenant.orgId)
        expect(after.text).not.toContain(hook.body.endpoint.id)
      })
  )

  it.effect("a tenant's tap host has no /metrics, token or not (issue 26, item 7b)", () =>
    Effect.gen(function* () {
      const { port } = yield* AdminServer
      const authorization = `Bearer ${TOKEN}`
      for (const host of [`acme.${TAP_DOMAIN}`, `ACME.${TAP_DOMAIN.toUpperCase()}:${port}`]) {
        const reply = yield* request(port, "/metrics", { host, headers: { authorization } })
        expect(reply.status, host).toBe(404)
        expect(reply.body, host).not.toContain("tapline_")
      }
      // The API's own host still serves it.
      const own = yield* request(port, "/metrics", { host: `127.0.0.1:${port}`, headers: { authorization } })
      expect(own.status).toBe(200)
    })
  )
})
