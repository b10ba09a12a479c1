import { ConfigProvider, Context, Effect, Layer, Option, Tracer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AppConfig, type TraceSampler } from "../src/Config/AppConfig.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"
import { redirectLinks } from "../src/Taps/TapWriter.js"
import * as Tracing from "../src/Telemetry/Tracing.js"
import { type CaptureServer, startCaptureServer } from "./support/CaptureServer.js"

/*
 * Issue 15, traces: OTEL_TRACES_SAMPLER's rules for every span but the redirect's, the redirect and the
 * writer's batch forcing their own, credentials redacted from attributes, and the exporter honouring the
 * protocol, headers and resource variables against a loopback receiver.
 */

/** The exporter under the sampler: records which spans reached it. */
const recording = () => {
  const names: Array<string> = []
  const native = Effect.runSync(Effect.tracer)
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind) {
      names.push(name)
      return native.span(name, parent, context, links, startTime, kind)
    },
    context: native.context
  })
  return { names, tracer }
}

const external = (sampled: boolean) =>
  Option.some(Tracer.externalSpan({ traceId: "a".repeat(32), spanId: "b".repeat(16), sampled }))

const open = (
  tracer: Tracer.Tracer,
  name: string,
  parent: Option.Option<Tracer.AnySpan>,
  context = Context.empty()
) => tracer.span(name, parent, context, [], 0n, "internal")

describe("OTEL_TRACES_SAMPLER", () => {
  const cases: ReadonlyArray<[TraceSampler, { root: boolean; sampled: boolean; unsampled: boolean }]> = [
    ["always_on", { root: true, sampled: true, unsampled: true }],
    ["always_off", { root: false, sampled: false, unsampled: false }],
    ["parentbased_always_on", { root: true, sampled: true, unsampled: false }],
    ["parentbased_always_off", { root: false, sampled: true, unsampled: false }],
    ["parentbased_traceidratio", { root: false, sampled: true, unsampled: false }],
    ["traceidratio", { root: false, sampled: false, unsampled: false }]
  ]
  for (const [sampler, expected] of cases) {
    it(`${sampler}: roots, a sampled caller, an unsampled caller (ratio 0 where it applies)`, () => {
      const { names, tracer } = recording()
      const sampling = Tracing.sampling(tracer, sampler, 0)
      const root = open(sampling, "root", Option.none())
      const fromSampled = open(sampling, "sampled caller", external(true))
      const fromUnsampled = open(sampling, "unsampled caller", external(false))
      expect({ root: root.sampled, sampled: fromSampled.sampled, unsampled: fromUnsampled.sampled }).toEqual(
        expected
      )
      expect(names).toEqual(
        [
          expected.root ? "root" : null,
          expected.sampled ? "sampled caller" : null,
          expected.unsampled ? "unsampled caller" : null
        ].filter((name) => name !== null)
      )
      // A dropped span still carries the trace on: its caller's trace id, or one of its own.
      expect(fromUnsampled.traceId).toBe("a".repeat(32))
      expect(root.traceId).toMatch(/^[0-9a-f]{32}$/)
    })
  }

  it("a child follows its parent in this process, whatever the rule; AlwaysSample records regardless", () => {
    const { names, tracer } = recording()
    const sampling = Tracing.sampling(tracer, "always_on", 1)
    const dropped = Tracing.sampling(tracer, "always_off", 0)
    const droppedRoot = open(dropped, "dropped root", Option.none())
    expect(open(sampling, "child of dropped", Option.some(droppedRoot)).sampled).toBe(false)
    const forced = open(dropped, "forced", Option.none(), Context.make(Tracing.AlwaysSample, true))
    expect(forced.sampled).toBe(true)
    expect(open(sampling, "child of forced", Option.some(forced)).sampled).toBe(true)
    expect(names).toEqual(["forced", "child of forced"])
  })

  it("traceidratio samples about its ratio of roots", () => {
    const { tracer } = recording()
    const sampling = Tracing.sampling(tracer, "traceidratio", 0.25)
    let sampled = 0
    for (let i = 0; i < 4000; i++) if (open(sampling, "root", Option.none()).sampled) sampled++
    // 4 000 draws at p = 0.25: the standard deviation is ~27, these bounds are 7 of them.
    expect(sampled).toBeGreaterThan(810)
    expect(sampled).toBeLessThan(1190)
  })

  it("credentials in string attributes are redacted", () => {
    const { tracer } = recording()
    const span = open(Tracing.sampling(tracer, "always_on", 1), "GET", Option.none())
    span.attribute("url.full", "http://x/api/v1/oauth/github/callback?code=abc&state=def")
    span.attribute("count", 3)
    expect((span as unknown as { attributes: Map<string, unknown> }).attributes.get("url.full")).toBe(
      "http://x/api/v1/oauth/github/callback?code=<redacted>&state=<redacted>"
    )
    expect((span as unknown as { attributes: Map<string, unknown> }).attributes.get("count")).toBe(3)
  })
})

describe("outgoing trace context", () => {
  it("is the current span's traceparent, and nothing outside a span", async () => {
    const inside = await Effect.runPromise(
      Effect.zip(Tracing.outgoingTraceHeaders, Effect.currentSpan).pipe(Effect.withSpan("call"))
    )
    expect(inside[0]).toEqual({ traceparent: `00-${inside[1].traceId}-${inside[1].spanId}-01` })
    expect(await Effect.runPromise(Tracing.outgoingTraceHeaders)).toEqual({})
  })
})

describe("the writer's links to traced redirects", () => {
  const tap = (id: string, trace?: unknown) =>
    ({ id, ...(trace === undefined ? {} : { trace }) }) as TapRecord
  it("link each valid traceparent, skip what the stream carried wrong, and stop at 128", () => {
    const valid = `00-${"1".repeat(32)}-${"2".repeat(16)}-01`
    const links = redirectLinks([
      tap("a", valid),
      tap("b"),
      tap("c", "00-short-01"),
      tap("d", 42),
      tap("e", `00-${"3".repeat(32)}-${"4".repeat(16)}-00`)
    ])
    expect(
      links.map((link) => [link.span.traceId, link.span.spanId, link.span.sampled, link.attributes])
    ).toEqual([
      ["1".repeat(32), "2".repeat(16), true, { "tapline.tap_id": "a" }],
      ["3".repeat(32), "4".repeat(16), false, { "tapline.tap_id": "e" }]
    ])
    expect(redirectLinks(Array.from({ length: 500 }, (_, i) => tap(String(i), valid)))).toHaveLength(128)
  })
})

describe("the OTLP exporter", () => {
  let receiver: CaptureServer
  beforeAll(async () => {
    receiver = await startCaptureServer()
  })
  afterAll(() => receiver.close())

  const exportOne = (env: Record<string, string>) =>
    Effect.runPromise(
      Effect.scoped(
        Layer.build(
          Tracing.layer.pipe(
            Layer.provide(AppConfig.layer),
            Layer.provide(
              Layer.setConfigProvider(
                ConfigProvider.fromMap(
                  new Map(Object.entries({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env }))
                )
              )
            )
          )
        ).pipe(
          Effect.flatMap((context) => Effect.provide(Effect.void.pipe(Effect.withSpan("exported")), context))
        )
      )
    )

  it("sends protobuf when asked, with OTEL_EXPORTER_OTLP_HEADERS, once the scope closes", async () => {
    receiver.requests.length = 0
    await exportOne({
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Api-Token%20abc,x-team=ops"
    })
    const request = await receiver.nth(1)
    expect(request.url).toBe("/v1/traces")
    expect(request.headers["content-type"]).toBe("application/x-protobuf")
    expect(request.headers.authorization).toBe("Api-Token abc")
    expect(request.headers["x-team"]).toBe("ops")
    expect(request.body).toContain("exported")
  })

  it("sends JSON by default, with the resource attributes; OTEL_SDK_DISABLED sends nothing", async () => {
    receiver.requests.length = 0
    await exportOne({
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=staging",
      OTEL_SERVICE_NAME: "tapline-worker"
    })
    const request = await receiver.nth(1)
    expect(request.headers["content-type"]).toBe("application/json")
    const body = JSON.parse(request.body) as {
      resourceSpans: Array<{
        resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }
      }>
    }
    const attributes = Object.fromEntries(
      body.resourceSpans[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue])
    )
    expect(attributes).toMatchObject({
      "deployment.environment": "staging",
      "service.name": "tapline-worker"
    })

    receiver.requests.length = 0
    await exportOne({ OTEL_SDK_DISABLED: "true" })
    await exportOne({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_TRACES_SAMPLER: "always_off" })
    expect(receiver.requests).toEqual([])
  })
})
