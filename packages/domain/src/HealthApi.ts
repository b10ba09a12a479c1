import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { ServiceUnavailable } from "./Errors.js"

/** `draining`: the process is stopping; `warming`: it has started and is not yet ready to answer taps. */
export const CheckStatus = Schema.Literal("ok", "failing", "not_configured", "draining", "warming")

export const Readiness = Schema.Struct({
  status: Schema.Literal("ready"),
  checks: Schema.Record({ key: Schema.String, value: CheckStatus })
})

/** For orchestrators: liveness never touches dependencies, readiness checks every one. */
export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("live", "/health/live").addSuccess(Schema.Struct({ status: Schema.Literal("live") }))
  )
  .add(HttpApiEndpoint.get("ready", "/health/ready").addSuccess(Readiness).addError(ServiceUnavailable))
  .annotate(OpenApi.Title, "Health")
  .annotate(OpenApi.Description, "Liveness and readiness probes.") {}

/** What a `TAPLINE_ROLE=worker` process serves: its health, not the admin API. */
export class WorkerApi extends HttpApi.make("tapline-worker").add(HealthApi) {}
