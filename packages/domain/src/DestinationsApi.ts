import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { hasControlCharacters } from "./ControlCharacters.js"
import {
  Conflict,
  DependencyUnavailable,
  Forbidden,
  InvalidRequest,
  NotFound,
  TooManyRequests
} from "./Errors.js"
import { Page, PageParams } from "./Pagination.js"
import { organizationId } from "./Params.js"
import { WebhookDelivery, WebhookEventType, WebhookMessageId } from "./WebhooksApi.js"

/*
 * An organisation's stream destinations: its own Kafka, RabbitMQ or NATS JetStream, sent its taps and events
 * as CloudEvents. They are endpoints of the one outbox, as webhooks are (same deliveries, retries, disabling
 * and delivery log), so their ids are endpoint ids.
 */

export const DestinationId = Schema.UUID.pipe(Schema.brand("DestinationId"))
export type DestinationId = typeof DestinationId.Type

/** The broker a destination publishes to; the URL's scheme names it (Brokers/BrokerConfig.ts). */
export const DestinationKind = Schema.Literal("kafka", "rabbitmq", "nats")
export type DestinationKind = typeof DestinationKind.Type

const BROKER_SCHEMES = /^(kafka\+tls|kafka|amqps|amqp|nats\+tls|nats):\/\//i

/**
 * `kafka+tls://user:pass@host:9093/topic`, `amqps://user:pass@host/exchange`, `nats+tls://user:pass@host/STREAM`.
 * The credentials are sealed at rest and never shown again; the answer shows the URL without them.
 */
export const BrokerUrl = Schema.String.pipe(
  Schema.maxLength(2048, { message: () => "a broker URL of at most 2048 characters" }),
  Schema.filter((value) => !hasControlCharacters(value), {
    message: () => "a broker URL must not contain control characters (CR, LF, tab, NUL, DEL, …)"
  }),
  Schema.filter((value) => BROKER_SCHEMES.test(value), {
    message: () => "a broker URL starting kafka+tls://, amqp://, amqps://, nats:// or nats+tls://",
    // Random strings almost never start with a scheme: property tests (Fuzz.test.ts) get URLs of this shape.
    arbitrary: () => (fc) =>
      fc
        .tuple(
          fc.constantFrom("amqps", "amqp", "nats+tls", "nats", "kafka+tls", "kafka"),
          fc.domain(),
          fc.integer({ min: 1, max: 65_535 }),
          fc.constantFrom("tapline", "orders", "TAPS")
        )
        .map(([scheme, host, port, target]) => `${scheme}://user:password@${host}:${port}/${target}`)
  })
)

const EventTypes = Schema.Array(WebhookEventType).pipe(
  Schema.minItems(1),
  Schema.maxItems(20),
  Schema.filter((types) => new Set(types).size === types.length, {
    message: () => "event types are listed once"
  })
)

const Description = Schema.String.pipe(Schema.maxLength(500))

export class Destination extends Schema.Class<Destination>("Destination")({
  id: DestinationId,
  kind: DestinationKind,
  /** The broker URL without its credentials. */
  url: Schema.String,
  description: Schema.String,
  eventTypes: Schema.Array(WebhookEventType),
  enabled: Schema.Boolean,
  /** Why it was disabled (sustained failure, or an owner); null while enabled. */
  disabledReason: Schema.NullOr(Schema.String),
  /** Since when every delivery has failed; null while the last one succeeded. */
  failingSince: Schema.NullOr(Schema.DateTimeUtc),
  /** Messages waiting for it (due or scheduled for a retry), and the oldest one's age: its lag. */
  pending: Schema.Number,
  oldestPendingAt: Schema.NullOr(Schema.DateTimeUtc),
  /** Messages it has acknowledged since it was created (a tap batch counts as its taps). */
  delivered: Schema.Number,
  lastDeliveredAt: Schema.NullOr(Schema.DateTimeUtc),
  lastError: Schema.NullOr(Schema.String),
  lastErrorAt: Schema.NullOr(Schema.DateTimeUtc),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

export const CreateDestination = Schema.Struct({
  url: BrokerUrl,
  description: Schema.optionalWith(Description, { default: () => "" }),
  eventTypes: EventTypes
})

export const UpdateDestination = Schema.Struct({
  url: Schema.optional(BrokerUrl),
  description: Schema.optional(Description),
  eventTypes: Schema.optional(EventTypes),
  /** true re-enables a disabled destination (its failure record starts afresh); false disables it. */
  enabled: Schema.optional(Schema.Boolean)
})

const destinationId = HttpApiSchema.param("destinationId", DestinationId)

export class DestinationsApi extends HttpApiGroup.make("destinations")
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/destinations`
      .setPayload(CreateDestination)
      .addSuccess(Destination, { status: 201 })
      .annotate(
        OpenApi.Description,
        "OWNER: adds a Kafka, RabbitMQ or NATS JetStream destination. Its host must pass the outbound policy."
      )
  )
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/destinations`.addSuccess(
      Schema.Array(Destination)
    )
  )
  .add(
    HttpApiEndpoint.get(
      "get"
    )`/api/v1/organizations/${organizationId}/destinations/${destinationId}`.addSuccess(Destination)
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/destinations/${destinationId}`
      .setPayload(UpdateDestination)
      .addSuccess(Destination)
  )
  .add(
    HttpApiEndpoint.del(
      "remove"
    )`/api/v1/organizations/${organizationId}/destinations/${destinationId}`.addSuccess(Schema.Void, {
      status: 204
    })
  )
  .add(
    HttpApiEndpoint.post("test")`/api/v1/organizations/${organizationId}/destinations/${destinationId}/test`
      .addSuccess(Schema.Struct({ messageId: WebhookMessageId }), { status: 202 })
      .addError(TooManyRequests)
      .annotate(OpenApi.Description, "Publishes a `tapline.webhook.test` event to this destination.")
  )
  .add(
    HttpApiEndpoint.get(
      "deliveries"
    )`/api/v1/organizations/${organizationId}/destinations/${destinationId}/deliveries`
      .setUrlParams(PageParams)
      .addSuccess(Page(WebhookDelivery))
      .annotate(OpenApi.Description, "Messages for this destination and where each stands, newest first.")
  )
  .add(
    HttpApiEndpoint.post(
      "redrive"
    )`/api/v1/organizations/${organizationId}/destinations/${destinationId}/redrive`
      .addSuccess(Schema.Struct({ requeued: Schema.Number }), { status: 202 })
      .annotate(
        OpenApi.Description,
        "Sends every message this destination gave up on again, each with a fresh set of retries."
      )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .addError(DependencyUnavailable)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Destinations")
  .annotate(
    OpenApi.Description,
    "An organisation's Kafka, RabbitMQ and NATS JetStream destinations for its taps and events; managed by OWNERs."
  ) {}
