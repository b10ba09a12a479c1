import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"

/** Readiness failed: which dependency is down, never why in detail (that goes to the logs). */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  {
    checks: Schema.Record({
      key: Schema.String,
      value: Schema.Literal("ok", "failing", "not_configured", "draining", "warming")
    })
  },
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

/** No credentials, or credentials that are unknown, revoked or expired: the body never says which. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

/** The caller belongs to the organisation but its role does not allow this. */
export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {}

/** Well-formed input that breaks a rule the schema cannot express (a state change, a foreign reference). */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()(
  "InvalidRequest",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()(
  "TooManyRequests",
  { message: Schema.String, retryAfterSeconds: Schema.Number },
  HttpApiSchema.annotations({ status: 429 })
) {}

/** A service Tapline depends on (e.g. the mail server) failed; nothing was changed. Retry later. */
export class DependencyUnavailable extends Schema.TaggedError<DependencyUnavailable>()(
  "DependencyUnavailable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}
