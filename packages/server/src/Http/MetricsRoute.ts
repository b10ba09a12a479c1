import { timingSafeEqual } from "node:crypto"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option, Redacted } from "effect"
import { AppConfig, requireMetricsToken } from "../Config/AppConfig.js"
import { Metrics, scrape } from "../Telemetry/Metrics.js"

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/** `{org}.{TAP_DOMAIN}` (any port, any case): a host bands tap, which only ever serves the redirect. */
export const isTapHost = (host: string | undefined, tapDomain: string) =>
  host?.replace(/:\d+$/, "").toLowerCase().endsWith(`.${tapDomain.toLowerCase()}`) === true

/**
 * `GET /metrics` for Prometheus, on the API server and the worker's; behind METRICS_TOKEN (required unless
 * embedded: AppConfig). Never on a tenant's tap host: a page anyone holding a wristband can reach is no
 * place for the platform's figures, token or not; it answers as a missing route does.
 */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const metrics = yield* Metrics
    const config = yield* AppConfig
    const { telemetry, server } = config
    yield* requireMetricsToken(config)
    if (!metrics.enabled) return
    yield* router.get(
      "/metrics",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (isTapHost(request.headers.host, server.tapDomain))
          return HttpServerResponse.empty({ status: 404 })
        if (Option.isSome(telemetry.metricsToken)) {
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
