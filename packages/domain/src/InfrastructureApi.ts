import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Forbidden, InvalidRequest, NotFound, ServiceUnavailable } from "./Errors.js"
import { Page, PageParams } from "./Pagination.js"

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
  /** Age of the oldest tap not yet in PostgreSQL, read by a writer or not. */
  oldestUnstoredMs: Schema.NullOr(Schema.Number),
  consumers: Schema.Number,
  recorder: Schema.Struct({
    buffered: Schema.Number,
    overflowed: Schema.Number,
    appended: Schema.Number,
    spooled: Schema.Number,
    replayed: Schema.Number,
    dropped: Schema.Number,
    journalSegments: Schema.Number
  }),
  /** This process's writer: `not_running` on the `api` role. */
  writer: Schema.Struct({
    state: Schema.Literal("ok", "failing", "not_running"),
    failingSinceMs: Schema.NullOr(Schema.Number),
    lastError: Schema.NullOr(Schema.String)
  }),
  /** Taps PostgreSQL refused, kept in tap_dead_letters with the reason. */
  deadLetters: Schema.Number
})

export const FailedJob = Schema.Struct({
  id: Schema.String,
  queue: Schema.String,
  payload: Schema.Unknown,
  attempts: Schema.Number,
  error: Schema.String,
  failedAt: Schema.DateTimeUtc
})

export const DeadLetter = Schema.Struct({
  tapId: Schema.String,
  organizationId: Schema.NullOr(Schema.String),
  /** Why PostgreSQL refused it (or why it could not be attributed), and the SQLSTATE when there is one. */
  error: Schema.String,
  sqlstate: Schema.NullOr(Schema.String),
  deadLetteredAt: Schema.DateTimeUtc,
  /** The tap as the stream carried it (JSON text). */
  payload: Schema.String
})

export const RedriveResult = Schema.Struct({
  tried: Schema.Number,
  stored: Schema.Number,
  stillRefused: Schema.Number,
  remaining: Schema.Number
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
  .add(
    HttpApiEndpoint.get("deadLetters", "/api/v1/infrastructure/taps/dead-letters")
      .setUrlParams(PageParams)
      .addSuccess(Page(DeadLetter))
      .annotate(OpenApi.Description, "Taps PostgreSQL refused or could not attribute, oldest first.")
  )
  .add(
    HttpApiEndpoint.post("redriveDeadLetters", "/api/v1/infrastructure/taps/dead-letters/redrive")
      .setUrlParams(
        Schema.Struct({
          limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 10_000)), {
            default: () => 1000
          })
        })
      )
      .addSuccess(RedriveResult)
      .annotate(
        OpenApi.Description,
        "Stores the oldest dead letters again (up to `limit`), each on its own, once their cause is fixed; " +
          "stored ones leave the list, the others stay with the new reason."
      )
  )
  .add(
    HttpApiEndpoint.get("failedJobs", "/api/v1/infrastructure/jobs/failed")
      .setUrlParams(PageParams)
      .addSuccess(Page(FailedJob))
      .annotate(OpenApi.Description, "Jobs that failed every attempt (the dead letter), newest first.")
  )
  .add(
    HttpApiEndpoint.post(
      "retryJob"
    )`/api/v1/infrastructure/jobs/${HttpApiSchema.param("jobId", Schema.UUID)}/retry`
      .addSuccess(Schema.Struct({ retried: Schema.Boolean }))
      .annotate(
        OpenApi.Description,
        "Redrives a failed job with a fresh set of attempts; 404 when no such failed job."
      )
  )
  .addError(Forbidden)
  .addError(NotFound)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Infrastructure")
  .annotate(OpenApi.Description, "Read-model consistency and tap pipeline health. Platform ADMIN only.") {}
