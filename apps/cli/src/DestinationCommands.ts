import { Args, Command, Options } from "@effect/cli"
import {
  CreateDestination,
  DestinationId,
  type OrganizationId,
  WebhookEventType,
  type WebhookMessageId
} from "@tapline/domain"
import { Duration, Effect, Option, Schedule, Schema } from "effect"
import { AdminClient, layer as AdminClientLive } from "./AdminClient.js"
import { organizationId, orgOption, print } from "./AdminCommands.js"

/*
 * An organisation's Kafka, RabbitMQ and NATS destinations (OWNER), through the admin API's typed client: the
 * same authorisation, validation and audit as the console. Each prints the API's answer as JSON.
 */

const destinationArg = Args.text({ name: "DESTINATION_ID" }).pipe(
  Args.withSchema(DestinationId),
  Args.withDescription("destination id (from destinations:list)")
)

const list = Command.make("destinations:list", { org: orgOption }, ({ org }) =>
  Effect.gen(function* () {
    const client = yield* AdminClient
    yield* print(yield* client.destinations.list({ path: { organizationId: yield* organizationId(org) } }))
  })
).pipe(
  Command.withDescription(
    "An organisation's destinations: URL without credentials, state, lag, delivered count, last error (OWNER)."
  )
)

const create = Command.make(
  "destinations:create",
  {
    org: orgOption,
    url: Options.text("url").pipe(
      Options.withDescription("kafka+tls://, amqp(s):// or nats(+tls):// URL; its credentials are sealed")
    ),
    eventType: Options.choice("event-type", WebhookEventType.literals).pipe(
      Options.repeated,
      Options.withDescription("an event to send (repeatable); without it, tap.created")
    ),
    description: Options.text("description").pipe(Options.optional)
  },
  ({ description, eventType, org, url }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      // Checked here first, so a malformed URL is said in the schema's words before any request.
      const payload = yield* Schema.decodeUnknown(CreateDestination)({
        url,
        eventTypes: eventType.length === 0 ? ["tap.created"] : eventType,
        ...Option.match(description, { onNone: () => ({}), onSome: (text) => ({ description: text }) })
      })
      yield* print(
        yield* client.destinations.create({ path: { organizationId: yield* organizationId(org) }, payload })
      )
    })
).pipe(Command.withDescription("Add a Kafka, RabbitMQ or NATS JetStream destination (OWNER)."))

/** `enabled` true or false: what an owner does after fixing (or before servicing) the broker. */
const toggle = (name: string, enabled: boolean, description: string) =>
  Command.make(name, { org: orgOption, destination: destinationArg }, ({ destination, org }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const path = { organizationId: yield* organizationId(org), destinationId: destination }
      yield* print(yield* client.destinations.update({ path, payload: { enabled } }))
    })
  ).pipe(Command.withDescription(description))

const enable = toggle(
  "destinations:enable",
  true,
  "Enable a destination again; its failure record starts afresh (OWNER)."
)
const disable = toggle(
  "destinations:disable",
  false,
  "Disable a destination: nothing is sent until enabled (OWNER)."
)

/** The test message's delivery once it is no longer pending, or as it stands when `wait` has passed. */
const outcome = (
  organization: OrganizationId,
  destination: DestinationId,
  messageId: WebhookMessageId,
  wait: number
) =>
  Effect.gen(function* () {
    const client = yield* AdminClient
    const path = { organizationId: organization, destinationId: destination }
    const look = Effect.map(client.destinations.deliveries({ path, urlParams: { limit: 50 } }), (page) =>
      page.items.find((d) => d.messageId === messageId)
    )
    // Asked again every half second until it is no longer pending (a NoSuchElement retries).
    const settled = look.pipe(
      Effect.filterOrFail((found) => found !== undefined && found.status !== "pending"),
      Effect.retry(Schedule.spaced("500 millis")),
      Effect.timeoutOption(Duration.seconds(wait))
    )
    const found = yield* settled
    return Option.isSome(found) ? found.value : yield* look
  })

const test = Command.make(
  "destinations:test",
  {
    org: orgOption,
    wait: Options.integer("wait").pipe(
      Options.withDefault(30),
      Options.withDescription("seconds to wait for the outcome (0: only send)")
    ),
    destination: destinationArg
  },
  ({ destination, org, wait }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const organization = yield* organizationId(org)
      const path = { organizationId: organization, destinationId: destination }
      const { messageId } = yield* client.destinations.test({ path })
      if (wait <= 0) return yield* print({ messageId, status: "pending" })
      const delivery = yield* outcome(organization, destination, messageId, wait)
      const status = delivery?.status ?? "pending"
      yield* print({
        messageId,
        status,
        attempts: delivery?.attempts ?? 0,
        lastError: delivery?.lastError ?? null
      })
      // A test that did not reach the broker is a failed check, for scripts as much as for people.
      if (status !== "succeeded") yield* Effect.sync(() => (process.exitCode = 2))
    })
).pipe(
  Command.withDescription(
    "Publish a tapline.webhook.test CloudEvent to a destination and wait for the outcome; exit code 2 unless delivered."
  )
)

const redrive = Command.make(
  "destinations:redrive",
  { org: orgOption, destination: destinationArg },
  ({ destination, org }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const path = { organizationId: yield* organizationId(org), destinationId: destination }
      yield* print(yield* client.destinations.redrive({ path }))
    })
).pipe(
  Command.withDescription("Send every message a destination gave up on again, with fresh retries (OWNER).")
)

export const destinationCommands = [
  Command.provide(list, AdminClientLive),
  Command.provide(create, AdminClientLive),
  Command.provide(test, AdminClientLive),
  Command.provide(redrive, AdminClientLive),
  Command.provide(enable, AdminClientLive),
  Command.provide(disable, AdminClientLive)
] as const

/** These commands alone, as a program over argv: what a test runs in-process, without a Node start each. */
export const runDestinationCommands = Command.run(
  Command.make("tapline").pipe(Command.withSubcommands(destinationCommands)),
  { name: "tapline", version: "0.0.0" }
)
