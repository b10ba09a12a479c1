import { Effect, Redacted, type Scope } from "effect"
import { BrokerError, type BrokerKind, type BrokerShape, type Dial, type HostVetting } from "./Broker.js"
import type { BrokerEndpoint } from "./BrokerConfig.js"
import * as KafkaBroker from "./KafkaBroker.js"
import * as NatsBroker from "./NatsBroker.js"
import * as RabbitBroker from "./RabbitBroker.js"

/*
 * The registry: each broker kind a URL names (BrokerConfig.ts) and the module that publishes to it. A new
 * broker is one file here, one row below and its scheme in BrokerConfig. Each module loads its client
 * library only when built, so a server without that kind of destination never loads it.
 */

export interface PublisherSettings {
  /** Resolves and vets each host before connecting (a tenant's destination); platform ones connect as named. */
  readonly dial?: Dial | undefined
  /** The same vetting for Kafka, whose client resolves each host itself (bootstrap and advertised). */
  readonly vetting?: HostVetting | undefined
  /** Extra trusted CA certificates (PEM) for TLS: BROKER_CA_FILE. */
  readonly ca?: string | undefined
  /** NATS: the subjects its stream stores (an organisation's: its own, so tenants' streams never overlap). */
  readonly subjects?: ReadonlyArray<string> | undefined
}

const userInfo = (endpoint: BrokerEndpoint) =>
  endpoint.username === undefined
    ? ""
    : `${encodeURIComponent(endpoint.username)}${
        endpoint.password === undefined ? "" : `:${encodeURIComponent(Redacted.value(endpoint.password))}`
      }@`

const hostPort = ({ host, port }: { readonly host: string; readonly port: number }) =>
  `${host.includes(":") ? `[${host}]` : host}:${port}`

/** rabbitmq-client and nats.js take one host per URL: the first is the one dialled. */
const firstHostUrl = (scheme: string, endpoint: BrokerEndpoint) =>
  Redacted.make(`${scheme}://${userInfo(endpoint)}${hostPort(endpoint.hosts[0]!)}`)

/**
 * A Kafka module on `endpoint`, publishing or consuming. A tenant's Kafka (vetting asked for) is reached over
 * TLS only: the client's plaintext sockets take no resolver to vet with, so every host (bootstrap,
 * advertised) can be vetted only through TLS.
 */
const kafka = (
  endpoint: BrokerEndpoint,
  settings: PublisherSettings,
  role: { readonly groupId: string; readonly createTopic: boolean }
) =>
  settings.vetting !== undefined && !endpoint.tls
    ? Effect.fail(
        new BrokerError({
          broker: "kafka",
          failure: "permanent",
          message: "Kafka: only kafka+tls:// can be checked address by address"
        })
      )
    : KafkaBroker.make({
        brokers: endpoint.hosts.map(hostPort),
        topic: endpoint.target,
        ...role,
        tls: endpoint.tls,
        ca: settings.ca,
        vetting: settings.vetting,
        ...(endpoint.username === undefined
          ? {}
          : {
              sasl: {
                mechanism: "SCRAM-SHA-512" as const,
                username: endpoint.username,
                password: endpoint.password ?? Redacted.make("")
              }
            })
      })

const publishers: Record<
  BrokerKind,
  (endpoint: BrokerEndpoint, settings: PublisherSettings) => Effect.Effect<BrokerShape, unknown, Scope.Scope>
> = {
  // Publishing joins no group; the name is what a consume would use.
  kafka: (endpoint, settings) => kafka(endpoint, settings, { groupId: "tapline", createTopic: true }),
  rabbitmq: (endpoint, settings) =>
    RabbitBroker.make({
      url: firstHostUrl(endpoint.tls ? "amqps" : "amqp", endpoint),
      exchange: endpoint.target,
      declare: true,
      dial: settings.dial,
      ...(settings.ca === undefined ? {} : { tls: { ca: settings.ca } })
    }),
  nats: (endpoint, settings) =>
    NatsBroker.make({
      url: firstHostUrl(endpoint.tls ? "tls" : "nats", endpoint),
      stream: {
        name: endpoint.target,
        create: true,
        ...(settings.subjects === undefined ? {} : { subjects: settings.subjects })
      },
      ...(settings.dial === undefined ? {} : { dial: settings.dial }),
      ...(settings.ca === undefined ? {} : { ca: settings.ca })
    })
}

/** A broker module publishing to `endpoint`, for as long as the scope lasts. */
export const publisher = (endpoint: BrokerEndpoint, settings: PublisherSettings = {}) =>
  Effect.suspend(() => publishers[endpoint.kind](endpoint, settings))

export interface ConsumerSettings extends PublisherSettings {
  /** Kafka's consumer group, RabbitMQ's queue, NATS's durable consumer: renaming it starts afresh. */
  readonly name: string
  /** RabbitMQ: the binding keys from the URL's exchange to the queue, e.g. `band.registered.#`. */
  readonly bindingKeys: ReadonlyArray<string>
  /** NATS: the durable consumer's subject filter within the URL's stream, e.g. `tapline.*.band.*`. */
  readonly filterSubject: string
}

const consumers: Record<
  BrokerKind,
  (endpoint: BrokerEndpoint, settings: ConsumerSettings) => Effect.Effect<BrokerShape, unknown, Scope.Scope>
> = {
  // The producer's topic: a consumer does not create what it reads.
  kafka: (endpoint, settings) => kafka(endpoint, settings, { groupId: settings.name, createTopic: false }),
  rabbitmq: (endpoint, settings) =>
    RabbitBroker.make({
      url: firstHostUrl(endpoint.tls ? "amqps" : "amqp", endpoint),
      exchange: endpoint.target,
      queue: settings.name,
      bindingKeys: settings.bindingKeys,
      declare: true,
      dial: settings.dial,
      ...(settings.ca === undefined ? {} : { tls: { ca: settings.ca } })
    }),
  nats: (endpoint, settings) =>
    NatsBroker.make({
      url: firstHostUrl(endpoint.tls ? "tls" : "nats", endpoint),
      // The producer's stream: its subjects are not ours to change.
      stream: { name: endpoint.target, create: false },
      consumer: { name: settings.name, filterSubject: settings.filterSubject },
      ...(settings.dial === undefined ? {} : { dial: settings.dial }),
      ...(settings.ca === undefined ? {} : { ca: settings.ca })
    })
}

/** A broker module consuming from `endpoint` as `settings.name`, for as long as the scope lasts. */
export const consumer = (endpoint: BrokerEndpoint, settings: ConsumerSettings) =>
  Effect.suspend(() => consumers[endpoint.kind](endpoint, settings))
