import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Forbidden, ServiceUnavailable } from "./Errors.js"

export const ReadModelStatus = Schema.Struct({
  organizations: Schema.Number,
  upToDate: Schema.Number,
  stale: Schema.Array(
    Schema.Struct({
      organizationId: Schema.String,
      postgres: Schema.Number,
      redis: Schema.NullOr(Schema.Number)
    })
  )
})

export const PipelineHealth = Schema.Struct({
  streamLength: Schema.Number,
  lag: Schema.Number,
  pending: Schema.Number,
  oldestPendingMs: Schema.NullOr(Schema.Number),
  consumers: Schema.Number,
  recorder: Schema.Struct({
    buffered: Schema.Number,
    overflowed: Schema.Number,
    appended: Schema.Number,
    spooled: Schema.Number,
    replayed: Schema.Number
  })
})

export class InfrastructureApi extends HttpApiGroup.make("infrastructure")
  .add(HttpApiEndpoint.get("readModel", "/api/v1/infrastructure/read-model").addSuccess(ReadModelStatus))
  .add(
    HttpApiEndpoint.get("pipeline", "/api/v1/infrastructure/pipeline")
      .addSuccess(PipelineHealth)
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.post("rebuildReadModel", "/api/v1/infrastructure/read-model/rebuild")
      .setUrlParams(
        Schema.Struct({ onlyStale: Schema.optionalWith(Schema.BooleanFromString, { default: () => false }) })
      )
      .addSuccess(Schema.Struct({ organizations: Schema.Number, milliseconds: Schema.Number }))
  )
  .addError(Forbidden)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Infrastructure")
  .annotate(OpenApi.Description, "Read-model consistency and tap pipeline health. Platform ADMIN only.") {}
