import { createServer } from "node:http"
import { HttpApiBuilder, HttpApiScalar, HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { TaplineApi } from "@tapline/domain"
import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { HealthHandlers } from "./HealthHandlers.js"

/** Headers whose values never reach a span attribute or a log line. */
export const redactedHeaders = ["authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"]

export const ApiLive = HttpApiBuilder.api(TaplineApi).pipe(Layer.provide(HealthHandlers))

/** The admin API with its OpenAPI document and docs page, as an HttpServer app. */
export const HttpAppLive = HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
  Layer.provide(HttpApiScalar.layer({ path: "/api/v1/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/api/v1/openapi.json" })),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)

/** Node's HTTP server on HOST:PORT; closing it stops new connections and waits for in-flight requests. */
export const NodeServerLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ server }) =>
    NodeHttpServer.layer(() => createServer({ keepAliveTimeout: 5_000 }), {
      port: server.port,
      host: server.host
    })
  )
)
