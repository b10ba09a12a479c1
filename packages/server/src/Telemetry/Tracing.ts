import * as Otlp from "@effect/opentelemetry/Otlp"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../Config/AppConfig.js"

/** Headers whose values never reach a span attribute or a log line. */
export const redactedHeaders = ["authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"]

/**
 * OTLP/HTTP export of traces, metrics and logs when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise spans stay
 * in process (still carried into log lines). Incoming W3C `traceparent` headers become the parent span.
 */
export const layer = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ telemetry }) =>
    Option.match(telemetry.otlpEndpoint, {
      onNone: () => Layer.empty,
      onSome: (endpoint) =>
        Otlp.layerJson({
          baseUrl: endpoint.toString().replace(/\/$/, ""),
          resource: { serviceName: telemetry.serviceName },
          tracerExportInterval: "1 second"
        }).pipe(Layer.provide(FetchHttpClient.layer))
    })
  )
).pipe(Layer.provideMerge(Layer.locallyScoped(Headers.currentRedactedNames, redactedHeaders)))
