import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import {
  Conflict,
  DependencyUnavailable,
  Forbidden,
  InvalidRequest,
  NotFound,
  TooManyRequests
} from "./Errors.js"
import { HttpUrl } from "./Fields.js"
import { Page, PageParams } from "./Pagination.js"
import { organizationId } from "./Params.js"

export const WebhookEndpointId = Schema.UUID.pipe(Schema.brand("WebhookEndpointId"))
export type WebhookEndpointId = typeof WebhookEndpointId.Type

export const WebhookMessageId = Schema.UUID.pipe(Schema.brand("WebhookMessageId"))
export type WebhookMessageId = typeof WebhookMessageId.Type

/**
 * What an endpoint can subscribe to. `webhook.test` is the ping an owner sends by hand (to that endpoint only);
 * `webhook.disabled` tells the other endpoints and chat channels that one endpoint was disabled.
 */
export const WebhookEventType = Schema.Literal(
  "tap.created",
  "band.flagged",
  "band.assigned",
  "event.status_changed",
  "export.ready",
  "import.completed",
  "webhook.disabled"
)
export type WebhookEventType = typeof WebhookEventType.Type

/**
 * `webhook`: a Standard Webhooks receiver (signed JSON). `slack`, `discord`, `teams`: a chat service's incoming
 * webhook, sent a short message in the service's own format; its URL is the secret and is never shown again.
 */
export const WebhookKind = Schema.Literal("webhook", "slack", "discord", "teams")
export type WebhookKind = typeof WebhookKind.Type

const EventTypes = Schema.Array(WebhookEventType).pipe(
  Schema.minItems(1),
  Schema.maxItems(20),
  Schema.filter((types) => new Set(types).size === types.length, {
    message: () => "event types are listed once"
  })
)

const Description = Schema.String.pipe(Schema.maxLength(500))

export class WebhookEndpoint extends Schema.Class<WebhookEndpoint>("WebhookEndpoint")({
  id: WebhookEndpointId,
  kind: WebhookKind,
  /** A receiver's URL as given; a chat webhook's only as its origin (the rest is its secret). */
  url: Schema.String,
  description: Schema.String,
  eventTypes: Schema.Array(WebhookEventType),
  enabled: Schema.Boolean,
  /** Why the endpoint was disabled (sustained failure, or an owner), null while enabled. */
  disabledReason: Schema.NullOr(Schema.String),
  /** Since when every delivery has failed; null while the last delivery succeeded. */
  failingSince: Schema.NullOr(Schema.DateTimeUtc),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

export const CreateWebhookEndpoint = Schema.Struct({
  kind: Schema.optionalWith(WebhookKind, { default: () => "webhook" as const }),
  url: HttpUrl,
  description: Schema.optionalWith(Description, { default: () => "" }),
  eventTypes: EventTypes
})

export const UpdateWebhookEndpoint = Schema.Struct({
  url: Schema.optional(HttpUrl),
  description: Schema.optional(Description),
  eventTypes: Schema.optional(EventTypes),
  /** true re-enables a disabled endpoint (its failure record starts afresh); false disables it. */
  enabled: Schema.optional(Schema.Boolean)
})

/** A new endpoint, or a rotated secret: the signing secret is in this answer and never again. */
export const WebhookSecret = Schema.Struct({
  endpoint: WebhookEndpoint,
  /** `whsec_…` (Standard Webhooks); null for chat webhooks, which are not signed. */
  secret: Schema.NullOr(Schema.String)
})

export const RotateWebhookSecret = Schema.Struct({
  /** How long deliveries also carry a signature with the previous secret, so receivers can switch over. */
  overlapMinutes: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 7 * 24 * 60)), {
    default: () => 24 * 60
  })
})

export const WebhookDelivery = Schema.Struct({
  messageId: WebhookMessageId,
  eventType: Schema.String,
  status: Schema.Literal("pending", "succeeded", "failed"),
  attempts: Schema.Number,
  nextAttemptAt: Schema.NullOr(Schema.DateTimeUtc),
  lastResponseStatus: Schema.NullOr(Schema.Number),
  lastResponseTimeMs: Schema.NullOr(Schema.Number),
  lastError: Schema.NullOr(Schema.String),
  createdAt: Schema.DateTimeUtc
})

export const WebhookAttempt = Schema.Struct({
  id: Schema.String,
  messageId: WebhookMessageId,
  eventType: Schema.String,
  /** 2xx: delivered; any other status, or none (timeout, refused connection, SSRF guard): failed. */
  responseStatus: Schema.NullOr(Schema.Number),
  responseTimeMs: Schema.Number,
  error: Schema.NullOr(Schema.String),
  attemptedAt: Schema.DateTimeUtc
})

const endpointId = HttpApiSchema.param("endpointId", WebhookEndpointId)
const messageId = HttpApiSchema.param("messageId", WebhookMessageId)

export class WebhooksApi extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/webhooks`
      .setPayload(CreateWebhookEndpoint)
      .addSuccess(WebhookSecret, { status: 201 })
      .annotate(
        OpenApi.Description,
        "OWNER: adds an endpoint (a Standard Webhooks receiver, or a Slack, Discord or Teams incoming webhook). The signing secret is in this answer only."
      )
  )
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/webhooks`.addSuccess(
      Schema.Array(WebhookEndpoint)
    )
  )
  .add(
    HttpApiEndpoint.get("get")`/api/v1/organizations/${organizationId}/webhooks/${endpointId}`.addSuccess(
      WebhookEndpoint
    )
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/webhooks/${endpointId}`
      .setPayload(UpdateWebhookEndpoint)
      .addSuccess(WebhookEndpoint)
  )
  .add(
    HttpApiEndpoint.del("remove")`/api/v1/organizations/${organizationId}/webhooks/${endpointId}`.addSuccess(
      Schema.Void,
      { status: 204 }
    )
  )
  .add(
    HttpApiEndpoint.post(
      "rotateSecret"
    )`/api/v1/organizations/${organizationId}/webhooks/${endpointId}/rotate-secret`
      .setPayload(RotateWebhookSecret)
      .addSuccess(WebhookSecret)
      .annotate(
        OpenApi.Description,
        "A new signing secret (in this answer only); deliveries carry both signatures for the overlap."
      )
  )
  .add(
    HttpApiEndpoint.post("test")`/api/v1/organizations/${organizationId}/webhooks/${endpointId}/test`
      .addSuccess(Schema.Struct({ messageId: WebhookMessageId }), { status: 202 })
      .annotate(
        OpenApi.Description,
        "Sends a `webhook.test` ping to this endpoint; its delivery shows in the log."
      )
      .addError(TooManyRequests)
  )
  .add(
    HttpApiEndpoint.get(
      "deliveries"
    )`/api/v1/organizations/${organizationId}/webhooks/${endpointId}/deliveries`
      .setUrlParams(PageParams)
      .addSuccess(Page(WebhookDelivery))
      .annotate(OpenApi.Description, "Messages for this endpoint and where each stands, newest first.")
  )
  .add(
    HttpApiEndpoint.get("attempts")`/api/v1/organizations/${organizationId}/webhooks/${endpointId}/attempts`
      .setUrlParams(PageParams)
      .addSuccess(Page(WebhookAttempt))
      .annotate(
        OpenApi.Description,
        "The delivery log: every request made, its status and response time, newest first."
      )
  )
  .add(
    HttpApiEndpoint.post(
      "redeliver"
    )`/api/v1/organizations/${organizationId}/webhooks/${endpointId}/deliveries/${messageId}/redeliver`
      .addSuccess(Schema.Struct({ messageId: WebhookMessageId }), { status: 202 })
      .annotate(OpenApi.Description, "Sends the message again now, with a fresh set of retries.")
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .addError(DependencyUnavailable)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Webhooks")
  .annotate(
    OpenApi.Description,
    "Outgoing webhooks (Standard Webhooks signatures) and chat alerts, per organisation; managed by OWNERs."
  ) {}
