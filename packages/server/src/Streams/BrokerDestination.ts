import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Duration, Effect, Either, Exit, RcMap, type Scope } from "effect"
import type { BrokerError, BrokerShape, Dial, HostVetting } from "../Brokers/Broker.js"
import * as Brokers from "../Brokers/providers.js"
import { parseDestinationUrl } from "../Destinations/BrokerUrls.js"
import { ADDRESS_REFUSED, type OutboundPolicy } from "../Outbound/OutboundPolicy.js"
import type { Destination, Outcome } from "../Outbox/Destination.js"
import type { MetricsShape } from "../Telemetry/Metrics.js"
import * as CloudEvents from "./CloudEvents.js"

/*
 * An organisation's broker as a destination of the outbox (Outbox/Destination.ts): the dispatcher claims its
 * deliveries, retries and disables it as it does a webhook's; this file only publishes. A message becomes
 * CloudEvents (CloudEvents.outbox: one per tap of a `tap.created` batch, else one), published and
 * acknowledged by the broker before the delivery counts as delivered.
 *
 * Connections are kept between deliveries, one publisher per endpoint and URL: a changed URL is a new key
 * (the old publisher is closed at once), an idle one closes after `idle`, and at most `capacity` are open
 * (a delivery beyond that fails and is retried on the dispatcher's schedule). Every connection a publisher
 * makes goes through the vetting dial: the host is resolved and every address checked when it connects, not
 * only when the URL was saved, so a name re-pointed at loopback later is refused then.
 */

export interface BrokerDestinationOptions {
  readonly policy: OutboundPolicy
  /** PUBLIC_URL: the CloudEvents' `dataschema`. */
  readonly origin: URL
  /** One attempt's budget: connecting (when not yet connected) and the broker's acknowledgement. */
  readonly timeoutMs: number
  readonly metrics: MetricsShape
  /** BROKER_CA_FILE's certificates (PEM), trusted besides the system's for the brokers' TLS. */
  readonly ca?: string | undefined
  readonly capacity?: number
  readonly idle?: Duration.DurationInput
}

/** Resolves the host through the policy (which refuses when any address is not public or allowed). */
export const vettingDial =
  (policy: OutboundPolicy): Dial =>
  async (host, port) => {
    const [first] = await policy.resolve(host)
    return { address: first!.address, port, servername: host }
  }

/** The same policy for a client that resolves through us (Kafka): the first vetted address of a name. */
export const vettingResolver = (policy: OutboundPolicy): HostVetting => ({
  resolve: async (host) => {
    const [first] = await policy.resolve(host)
    return first!.address
  },
  refuses: (address) => (policy.allowsAddress(address) ? undefined : ADDRESS_REFUSED)
})

const SLUG_TRUST_MS = 60_000

/** Each organisation's slug (routing keys, subjects), trusted for a minute. */
const slugs = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const known = new Map<string, { readonly slug: string; readonly at: number }>()
  return (organizationId: string) =>
    Effect.gen(function* () {
      const entry = known.get(organizationId)
      if (entry !== undefined && Date.now() - entry.at < SLUG_TRUST_MS) return entry.slug
      const [row] = yield* sql<{ slug: string }>`select slug from organizations where id = ${organizationId}`
      if (row === undefined) return undefined
      known.set(organizationId, { slug: row.slug, at: Date.now() })
      return row.slug
    })
})

/** What a tenant may read of a failure: a BrokerError's message is written for it (Broker.ts). */
const describe = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    // Our own words (BrokerUrls): a URL the destination rules refuse.
    if (typeof failure.value === "string") return failure.value
    const error = failure.value as { _tag?: string; message?: string }
    if (error._tag === "BrokerError") return (error as BrokerError).message
    if (error._tag === "TimeoutException") return "the broker did not acknowledge in time"
    if (error instanceof Cause.ExceededCapacityException) {
      return "too many destinations are connected at once; retried later"
    }
  }
  return "the message could not be published"
}

const KEY_SEPARATOR = "\n"

export const make = (
  options: BrokerDestinationOptions
): Effect.Effect<Destination, never, Scope.Scope | SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const slugOf = yield* slugs
    const dial = vettingDial(options.policy)
    const vetting = vettingResolver(options.policy)
    const publishers = yield* RcMap.make({
      // The key holds the URL (credentials included) only in memory, so a changed URL is a new publisher; the
      // slug too, since a NATS stream stores the organisation's subjects (`tapline.<slug>.>`) only.
      lookup: (key: string): Effect.Effect<BrokerShape, unknown, Scope.Scope> => {
        const [, slug, url] = key.split(KEY_SEPARATOR) as [string, string, string]
        const parsed = parseDestinationUrl(url)
        return Either.isLeft(parsed)
          ? Effect.fail(parsed.left)
          : Brokers.publisher(parsed.right, {
              dial,
              vetting,
              ca: options.ca,
              subjects: [`tapline.${slug}.>`]
            })
      },
      capacity: options.capacity ?? 256,
      idleTimeToLive: options.idle ?? Duration.minutes(5)
    })
    const current = new Map<string, string>()

    const publish = (
      endpointId: string,
      slug: string,
      url: string,
      messages: ReadonlyArray<CloudEventsMessage>
    ) =>
      Effect.gen(function* () {
        const key = [endpointId, slug, url].join(KEY_SEPARATOR)
        const previous = current.get(endpointId)
        if (previous !== undefined && previous !== key) yield* RcMap.invalidate(publishers, previous)
        current.set(endpointId, key)
        const exit = yield* Effect.scoped(
          Effect.flatMap(RcMap.get(publishers, key), (broker) => broker.publish(messages))
        ).pipe(Effect.timeout(options.timeoutMs), Effect.exit)
        // A publisher that could not connect is not kept: the next attempt connects (and vets) afresh.
        if (Exit.isFailure(exit)) yield* RcMap.invalidate(publishers, key)
        return exit
      })

    const send = (
      message: Parameters<Destination["send"]>[0],
      receiver: Parameters<Destination["send"]>[1]
    ) =>
      Effect.gen(function* () {
        const kind = receiver.kind
        const slug = yield* Effect.orDie(slugOf(message.organizationId))
        if (slug === undefined) return { status: null, error: "the organisation no longer exists" }
        const messages = CloudEvents.outbox(options.origin, { id: message.organizationId, slug }, message)
        if (messages.length === 0) return { status: null, error: null, delivered: 0 }
        const exit = yield* publish(receiver.endpointId, slug, receiver.url, messages)
        if (Exit.isSuccess(exit)) {
          const duplicates = exit.value.duplicates
          options.metrics.brokerMessages.inc({ kind, outcome: "published" }, messages.length - duplicates)
          if (duplicates > 0) options.metrics.brokerMessages.inc({ kind, outcome: "duplicate" }, duplicates)
          return { status: null, error: null, delivered: messages.length }
        }
        options.metrics.brokerMessages.inc({ kind, outcome: "failed" }, messages.length)
        return { status: null, error: describe(exit.cause), cause: Cause.squash(exit.cause) }
      }).pipe(
        Effect.withSpan("BrokerDestination.publish", {
          kind: "producer",
          attributes: { "destination.kind": receiver.kind, "destination.endpoint_id": receiver.endpointId }
        })
      ) as Effect.Effect<Outcome>

    return { kinds: ["rabbitmq", "nats", "kafka"], send } satisfies Destination
  })

type CloudEventsMessage = ReturnType<typeof CloudEvents.outbox>[number]
