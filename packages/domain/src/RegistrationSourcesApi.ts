import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { BrokerUrl, DestinationKind } from "./DestinationsApi.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Page, PageParams } from "./Pagination.js"
import { organizationId } from "./Params.js"

/*
 * An organisation's registration sources: its own RabbitMQ or NATS JetStream (Kafka once a vetted dial is
 * possible), from which Tapline consumes `tapline.band.registered` and `tapline.band.unregistered`
 * CloudEvents for that organisation's events. docs/INTEGRATIONS.md, "Registrations", says what a source reads.
 */

export const RegistrationSourceId = Schema.UUID.pipe(Schema.brand("RegistrationSourceId"))
export type RegistrationSourceId = typeof RegistrationSourceId.Type

/** Names the source in its queue or durable consumer: lower case, digits and `-`, starting with a letter. */
export const RegistrationSourceName = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9-]{0,31}$/, {
    message: () => "a name of 1-32 characters: a-z, 0-9 and '-', starting with a letter"
  })
)

/**
 * A broker URL as `BrokerUrl` checks it, with a generator for property tests: its filters would reject almost
 * every random string, and a generator left to find one by chance never ends.
 */
export const SourceUrl = BrokerUrl.annotations({
  arbitrary: () => (fc) =>
    fc
      .tuple(
        fc.constantFrom("amqp", "amqps", "nats", "nats+tls", "kafka"),
        fc.constantFrom("", "user:pass@"),
        fc.constantFrom("127.0.0.1:9", "10.0.0.1", "broker.example:4222", "[::1]:5672"),
        fc.stringMatching(/^[A-Za-z0-9_-]{0,20}$/)
      )
      .map(([scheme, credentials, host, path]) => `${scheme}://${credentials}${host}/${path}`)
})

export class RegistrationSource extends Schema.Class<RegistrationSource>("RegistrationSource")({
  id: RegistrationSourceId,
  name: Schema.String,
  kind: DestinationKind,
  /** The broker URL without its credentials. */
  url: Schema.String,
  enabled: Schema.Boolean,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

export const CreateRegistrationSource = Schema.Struct({
  name: RegistrationSourceName,
  url: SourceUrl,
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true })
})

export const UpdateRegistrationSource = Schema.Struct({
  url: Schema.optional(SourceUrl),
  enabled: Schema.optional(Schema.Boolean)
})

/** A message the source could not apply: kept with its reason, a bounded copy of its body, for N days. */
export class RegistrationDeadLetter extends Schema.Class<RegistrationDeadLetter>("RegistrationDeadLetter")({
  id: Schema.UUID,
  /** The CloudEvent's `id` or the broker's message id, when the message had one. */
  messageId: Schema.NullOr(Schema.String),
  reason: Schema.String,
  /** The body as received, cut at 4 KiB; `bodyBytes` is its whole size. */
  body: Schema.String,
  bodyBytes: Schema.Number,
  receivedAt: Schema.DateTimeUtc
}) {}

const sourceId = HttpApiSchema.param("sourceId", RegistrationSourceId)

export class RegistrationSourcesApi extends HttpApiGroup.make("registrationSources")
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/registration-sources`
      .setPayload(CreateRegistrationSource)
      .addSuccess(RegistrationSource, { status: 201 })
      .annotate(
        OpenApi.Description,
        "OWNER: adds a RabbitMQ or NATS JetStream source of registrations. Its host must pass the outbound policy."
      )
  )
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/registration-sources`.addSuccess(
      Schema.Array(RegistrationSource)
    )
  )
  .add(
    HttpApiEndpoint.get(
      "get"
    )`/api/v1/organizations/${organizationId}/registration-sources/${sourceId}`.addSuccess(RegistrationSource)
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/registration-sources/${sourceId}`
      .setPayload(UpdateRegistrationSource)
      .addSuccess(RegistrationSource)
  )
  .add(
    HttpApiEndpoint.del(
      "remove"
    )`/api/v1/organizations/${organizationId}/registration-sources/${sourceId}`.addSuccess(Schema.Void, {
      status: 204
    })
  )
  .add(
    HttpApiEndpoint.get(
      "deadLetters"
    )`/api/v1/organizations/${organizationId}/registration-sources/${sourceId}/dead-letters`
      .setUrlParams(PageParams)
      .addSuccess(Page(RegistrationDeadLetter))
      .annotate(OpenApi.Description, "Messages this source could not apply and why, newest first.")
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Registration sources")
  .annotate(
    OpenApi.Description,
    "An organisation's brokers from which band registrations come in; managed by OWNERs."
  ) {}
