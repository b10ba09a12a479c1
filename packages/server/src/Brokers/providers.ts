import { Effect, Redacted, type Scope } from "effect"
import type { BrokerKind, BrokerShape, Dial } from "./Broker.js"
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
}

const userInfo = (endpoint: BrokerEndpoint) =>
  endpoint.username === undefined
    ? ""
    : `${encodeURIComponent(endpoint.username)}${
        endpoint.password === undefined ? "" : `:${encodeURIComponent(Redacted.value(endpoint.password))}`
      }@`

const hostPort = ({ host, port }: { readonly host: string; readonly port: number }) =>
  `${host.includes(":") ? `[${host}]` : host}:${port}`

const publishers: Record<
  BrokerKind,
  (endpoint: BrokerEndpoint, settings: PublisherSettings) => Effect.Effect<BrokerShape, unknown, Scope.Scope>
> = {
  kafka: (endpoint) =>
    KafkaBroker.make({
      brokers: endpoint.hosts.map(hostPort),
      topic: endpoint.target,
      // Publishing joins no group; the name is what a consume would use.
      groupId: "tapline",
      createTopic: true,
      tls: endpoint.tls,
      ...(endpoint.username === undefined
        ? {}
        : {
            sasl: {
              mechanism: "SCRAM-SHA-512" as const,
              username: endpoint.username,
              password: endpoint.password ?? Redacted.make("")
            }
          })
    }),
  rabbitmq: (endpoint, settings) =>
    RabbitBroker.make({
      // rabbitmq-client takes one host per URL; the first is the one dialled.
      url: Redacted.make(
        `${endpoint.tls ? "amqps" : "amqp"}://${userInfo(endpoint)}${hostPort(endpoint.hosts[0]!)}`
      ),
      exchange: endpoint.target,
      declare: true,
      dial: settings.dial
    }),
  nats: (endpoint, settings) =>
    NatsBroker.make({
      url: Redacted.make(
        `${endpoint.tls ? "tls" : "nats"}://${userInfo(endpoint)}${hostPort(endpoint.hosts[0]!)}`
      ),
      stream: { name: endpoint.target, create: true },
      ...(settings.dial === undefined ? {} : { dial: settings.dial })
    })
}

/** A broker module publishing to `endpoint`, for as long as the scope lasts. */
export const publisher = (endpoint: BrokerEndpoint, settings: PublisherSettings = {}) =>
  Effect.suspend(() => publishers[endpoint.kind](endpoint, settings))
