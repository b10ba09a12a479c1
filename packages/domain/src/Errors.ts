import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** Readiness failed: which dependency is down, never why in detail (that goes to the logs). */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  { checks: Schema.Record({ key: Schema.String, value: Schema.Literal("ok", "failing", "not_configured") }) },
  HttpApiSchema.annotations({ status: 503 })
) {}

export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { resource: Schema.String, id: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

export class Conflict extends Schema.TaggedError<Conflict>()(
  "Conflict",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}
