import { timingSafeEqual } from "node:crypto"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option, Redacted } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Metrics, scrape } from "../Telemetry/Metrics.js"

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/** `GET /metrics` for Prometheus, on the API server and the worker's; behind METRICS_TOKEN when it is set. */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const metrics = yield* Metrics
    const { telemetry } = yield* AppConfig
    if (!metrics.enabled) return
    yield* router.get(
      "/metrics",
      Effect.gen(function* () {
        if (Option.isSome(telemetry.metricsToken)) {
          const request = yield* HttpServerRequest.HttpServerRequest
          const given = request.headers.authorization ?? ""
          if (!sameText(given, `Bearer ${Redacted.value(telemetry.metricsToken.value)}`)) {
            return HttpServerResponse.unsafeJson(
              { _tag: "Unauthorized", message: "metrics need the METRICS_TOKEN bearer" },
              { status: 401 }
            )
          }
        }
        return HttpServerResponse.text(yield* scrape(metrics), {
          contentType: metrics.registry.contentType,
          headers: { "cache-control": "no-store" }
        })
      })
    )
  })
)
