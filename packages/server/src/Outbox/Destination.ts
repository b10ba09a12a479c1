import type { DestinationKind, WebhookKind } from "@tapline/domain"
import { Context, type Effect } from "effect"

/*
 * The seam every kind of destination reads the outbox through. The dispatcher claims due deliveries (fairly
 * across organisations and endpoints, within its caps), opens each endpoint's address and secrets, and
 * hands the message to the destination registered for the endpoint's kind; it records the outcome,
 * retries, and disables an endpoint that keeps failing, whichever destination it is. Webhooks and chat are
 * the two destinations today (Webhooks/Destinations.ts); a broker or a journey is one more file here.
 */

/** An endpoint's kind: a webhook or chat channel, or an organisation's broker (Destinations/). */
export type EndpointKind = WebhookKind | DestinationKind

/** The broker kinds: the destinations API lists these endpoints, the webhooks API the others. */
export const BROKER_KINDS: ReadonlyArray<DestinationKind> = ["kafka", "rabbitmq", "nats"]

export const isBrokerKind = (kind: EndpointKind): kind is DestinationKind =>
  (BROKER_KINDS as ReadonlyArray<string>).includes(kind)

/** A message of the outbox as every destination receives it. */
export interface OutboxMessage {
  readonly id: string
  readonly organizationId: string
  readonly eventType: string
  readonly data: Record<string, unknown>
  readonly createdAt: Date
}

/** What a message's rendering for a receiver reads of it. */
export type MessageContent = Pick<OutboxMessage, "id" | "eventType" | "data" | "createdAt">

/** Where one delivery goes: an endpoint of the organisation, with its address and secrets opened. */
export interface Receiver {
  readonly endpointId: string
  readonly kind: EndpointKind
  readonly url: string
  /** The current signing secret first, then the previous one during a rotation's overlap. */
  readonly secrets: ReadonlyArray<string>
}

/** What became of one attempt, in words fit for the tenant's delivery log. */
export interface Outcome {
  /** The receiver's status; null when there was no answer (timeout, refused, policy). */
  readonly status: number | null
  /** Null when delivered. */
  readonly error: string | null
  /** Why there was no answer, for the operator's log only (it may name addresses). */
  readonly cause?: unknown
  /** How many messages the receiver acknowledged (a broker gets one per tap of a batch); 1 when absent. */
  readonly delivered?: number
}

/** One kind of destination: sends a message to a receiver, never failing (the outcome says what happened). */
export interface Destination {
  /** The endpoint kinds it sends to; one destination per kind. */
  readonly kinds: ReadonlyArray<EndpointKind>
  readonly send: (message: OutboxMessage, receiver: Receiver) => Effect.Effect<Outcome>
}

/** The destinations the dispatcher delivers to. */
export class Destinations extends Context.Tag("@tapline/server/Destinations")<
  Destinations,
  ReadonlyArray<Destination>
>() {}

/** The destination of each kind; two destinations claiming one kind is a wiring mistake, found at start. */
export const byKind = (destinations: ReadonlyArray<Destination>): ReadonlyMap<EndpointKind, Destination> => {
  const map = new Map<EndpointKind, Destination>()
  for (const destination of destinations) {
    for (const kind of destination.kinds) {
      if (map.has(kind)) throw new Error(`two destinations send to the kind ${kind}`)
      map.set(kind, destination)
    }
  }
  return map
}
