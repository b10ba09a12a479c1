import { Data, type Effect, type Scope } from "effect"

/*
 * A message broker behind one interface, one small file per broker (Kafka, RabbitMQ, NATS JetStream), as
 * Email and Storage are. A broker publishes CloudEvents (CloudEvents.ts renders them) and consumes them
 * (registrations in). The contract suite (test/support/BrokerContract.ts) is what every module passes against
 * its real broker; a new broker is one file here, one row in providers.ts and one contract test.
 */

export type BrokerKind = "kafka" | "rabbitmq" | "nats"

/**
 * Why a publish or a consume failed: `transient` (the broker is down, restarting, slow to confirm, or the
 * connection was lost) succeeds later, so the caller keeps the messages and retries; `permanent` (refused
 * credentials, a topic or exchange that does not exist and may not be created, a message over the broker's
 * size limit) fails the same way until someone changes the configuration.
 */
export class BrokerError extends Data.TaggedError("BrokerError")<{
  readonly broker: BrokerKind
  readonly failure: "transient" | "permanent"
  /** Fit for an operator's log and a tenant's destination page: never a credential. */
  readonly message: string
  readonly cause?: unknown
}> {}

/** One message as a broker publishes it: a CloudEvents 1.0 structured JSON event and where it goes. */
export interface BrokerMessage {
  /** The CloudEvent's `id` (a tap id, an event id): NATS's `Nats-Msg-Id`, a header on Kafka and RabbitMQ. */
  readonly id: string
  /** The CloudEvent's `type`, e.g. `tapline.tap.created`. */
  readonly type: string
  /** What keeps order: Kafka's message key (a band id), so one band's taps stay in one partition, in order. */
  readonly key: string
  /**
   * The organisation's slug, for routing: RabbitMQ's routing key `tap.created.<slug>`, NATS's subject
   * `tapline.<slug>.tap.created` (the type without its `tapline.` prefix).
   */
  readonly organizationSlug: string
  /** The CloudEvent, serialised (content type `application/cloudevents+json`). */
  readonly body: string
}

/** What the broker said of a publish that it acknowledged. */
export interface PublishReport {
  /** Messages the broker recognised as already stored (NATS by `Nats-Msg-Id`) and dropped. */
  readonly duplicates: number
}

/** One message received, as its handler sees it. */
export interface ReceivedMessage {
  /** The broker's own id for it when it has one, else the CloudEvent's `id` read from the body (may be absent). */
  readonly id: string | undefined
  /** The raw body: the handler parses it (and dead-letters what does not parse). */
  readonly body: string
  /** How many times this message was delivered before, where the broker tells (RabbitMQ, NATS); else 0. */
  readonly redeliveries: number
}

export interface BrokerShape {
  readonly kind: BrokerKind
  /**
   * Publishes every message and succeeds only once the broker has acknowledged all of them durably
   * (Kafka: acks=all from an idempotent producer; RabbitMQ: publisher confirms on a durable exchange with
   * persistent messages; NATS: the JetStream ack). Messages with the same `key` arrive in the order given.
   * Fails with a BrokerError within the module's deadline, never hangs, and never reports a message stored
   * that the broker did not acknowledge. Reconnects by itself after the broker comes back.
   */
  readonly publish: (messages: ReadonlyArray<BrokerMessage>) => Effect.Effect<PublishReport, BrokerError>
  /**
   * Runs `handle` on every message of the module's consume source (a Kafka topic and group, a RabbitMQ
   * queue, a NATS durable consumer) until the scope closes. A message is acknowledged only after its
   * `handle` succeeded; one whose `handle` fails is delivered again later (after a short backoff), and the
   * others go on meanwhile where the broker allows it. Survives the broker's restart.
   */
  readonly consume: (
    handle: (message: ReceivedMessage) => Effect.Effect<void, unknown>
  ) => Effect.Effect<void, BrokerError, Scope.Scope>
}

/**
 * Where a broker's connection goes: the host an operator or a tenant named is resolved and vetted once
 * (Outbound/OutboundPolicy) and the module connects to the vetted address, sending the host as TLS server
 * name. The default connects where it is told, for platform destinations an operator configured.
 */
export interface Dialled {
  readonly address: string
  readonly port: number
  /** The TLS server name (SNI) and the name the certificate is checked against. */
  readonly servername: string
}

export type Dial = (host: string, port: number) => Promise<Dialled>

export const dialAsNamed: Dial = async (host, port) => ({ address: host, port, servername: host })

/**
 * Vetting for a client that opens its sockets itself and takes a resolver (Kafka's): `resolve` answers the
 * address a name's connection may go to, or rejects with why not; `refuses` judges an address host at once
 * (Node does not look addresses up), the reason or undefined when it may be reached.
 */
export interface HostVetting {
  readonly resolve: (host: string) => Promise<string>
  readonly refuses: (address: string) => string | undefined
}
