import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import { Context, Effect, Layer, Option, Redacted, Tracer } from "effect"
import { AppConfig, parseKeyValues, type TraceSampler } from "../Config/AppConfig.js"
import { redactSecrets } from "./Redaction.js"

/** Headers whose values never reach a span attribute or a log line. */
export const redactedHeaders = ["authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"]

/**
 * In a span's context: record it whatever the sampler says. The redirect samples by its own ratio
 * (TAP_TRACE_RATIO) before it makes a span, and the writer's batch span must exist when a tap it stores was
 * traced, so the link between the two is never lost to the other sampler.
 */
export class AlwaysSample extends Context.Reference<AlwaysSample>()("@tapline/server/AlwaysSample", {
  defaultValue: () => false
}) {}

/** The W3C trace context of a span, for an outgoing request or a tap travelling through the stream. */
export const traceparent = (span: Tracer.AnySpan) =>
  `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

/** `{ traceparent }` of the current span, or nothing outside a span: spread into an outgoing call's headers. */
export const outgoingTraceHeaders: Effect.Effect<Record<string, string>> = Effect.map(
  Effect.option(Effect.currentSpan),
  Option.match({ onNone: () => ({}), onSome: (span) => ({ traceparent: traceparent(span) }) })
)

const randomHex = (length: number) => {
  let id = ""
  for (let i = 0; i < length; i++) id += ((Math.random() * 16) | 0).toString(16)
  return id
}

/** A span the sampler dropped: it carries the trace on (ids, `sampled: false`) and exports nothing. */
const unsampledSpan = (
  name: string,
  parent: Option.Option<Tracer.AnySpan>,
  context: Context.Context<never>,
  links: ReadonlyArray<Tracer.SpanLink>,
  startTime: bigint,
  kind: Tracer.SpanKind
): Tracer.Span => ({
  _tag: "Span",
  name,
  spanId: randomHex(16),
  traceId: Option.isSome(parent) ? parent.value.traceId : randomHex(32),
  parent,
  context,
  status: { _tag: "Started", startTime },
  attributes: new Map(),
  links,
  sampled: false,
  kind,
  end: () => {},
  attribute: () => {},
  event: () => {},
  addLinks: () => {}
})

/**
 * The OTEL_TRACES_SAMPLER rule for a span: a root is sampled by the rule's ratio; a child follows its parent
 * (a caller's `traceparent` for the parent-based rules, always for a parent in this process, so a trace is
 * never exported in pieces).
 */
const decide = (sampler: TraceSampler, ratio: number, parent: Option.Option<Tracer.AnySpan>) => {
  if (Option.isSome(parent) && (parent.value._tag === "Span" || sampler.startsWith("parentbased_"))) {
    return parent.value.sampled
  }
  switch (sampler) {
    case "always_on":
    case "parentbased_always_on":
      return true
    case "always_off":
    case "parentbased_always_off":
      return false
    case "traceidratio":
    case "parentbased_traceidratio":
      return Math.random() < ratio
  }
}

/**
 * Wraps the exporting tracer with the sampler, and redacts credentials from string attributes (a request's
 * URL carries an OAuth code or a signed link's signature as it does in a log line).
 */
export const sampling = (exporting: Tracer.Tracer, sampler: TraceSampler, ratio: number): Tracer.Tracer =>
  Tracer.make({
    span(name, parent, context, links, startTime, kind) {
      if (!Context.get(context, AlwaysSample) && !decide(sampler, ratio, parent)) {
        return unsampledSpan(name, parent, context, links, startTime, kind)
      }
      const span = exporting.span(name, parent, context, links, startTime, kind)
      const attribute = span.attribute.bind(span)
      span.attribute = (key, value) =>
        attribute(key, typeof value === "string" ? redactSecrets(value) : value)
      return span
    },
    context: exporting.context
  })

/**
 * Traces over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (and OTEL_SDK_DISABLED is not): the standard
 * variables say the protocol, the headers, the resource and the sampler. Otherwise no span is sampled; spans
 * still give log lines their trace ids. Logs and metrics are not exported over OTLP: logs are JSON lines on
 * stdout, redacted; metrics are Prometheus's at /metrics. Incoming W3C `traceparent` headers become parents.
 */
export const layer = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ telemetry }) => {
    if (Option.isNone(telemetry.otlpEndpoint) || telemetry.sdkDisabled) {
      // Nothing is exported, so nothing is sampled: ids still reach the logs, and callees see `sampled: 00`.
      return Layer.unwrapEffect(
        Effect.map(Effect.tracer, (native) => Layer.setTracer(sampling(native, "always_off", 0)))
      )
    }
    const tracer = OtlpTracer.make({
      url: `${telemetry.otlpEndpoint.value.toString().replace(/\/$/, "")}/v1/traces`,
      resource: { serviceName: telemetry.serviceName, attributes: telemetry.resourceAttributes },
      headers: parseKeyValues(Redacted.value(telemetry.otlpHeaders)),
      exportInterval: "1 second"
    })
    return Layer.unwrapScoped(
      Effect.map(tracer, (exporting) =>
        Layer.setTracer(sampling(exporting, telemetry.sampler, telemetry.samplerRatio))
      )
    ).pipe(
      Layer.provide(
        telemetry.otlpProtocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf
      ),
      Layer.provide(FetchHttpClient.layer)
    )
  })
).pipe(Layer.provideMerge(Layer.locallyScoped(Headers.currentRedactedNames, redactedHeaders)))
