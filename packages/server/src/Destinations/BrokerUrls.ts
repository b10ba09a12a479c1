import { Either } from "effect"
import type { BrokerEndpoint } from "../Brokers/BrokerConfig.js"
import { parseBrokerUrl } from "../Brokers/BrokerConfig.js"

/*
 * What an organisation's broker URL may be, beyond what parses: plaintext Kafka is refused, because the Kafka
 * client opens its sockets itself (bootstrap and every advertised broker) and only its TLS connections take
 * the resolver that vets each address (Brokers/KafkaBroker.ts `vettingTls`). RabbitMQ and NATS dial through our vetting
 * dial in either form.
 */

export const KAFKA_PLAINTEXT_REFUSED =
  "kafka:// is not accepted for an organisation's destination: use kafka+tls:// (Tapline checks every " +
  "address the Kafka client connects to, and can do so only over TLS)"

/** The URL as a tenant's destination, or why not (never quoting a credential). */
export const parseDestinationUrl = (url: string): Either.Either<BrokerEndpoint, string> =>
  Either.flatMap(parseBrokerUrl(url), (endpoint) =>
    endpoint.kind !== "kafka" || endpoint.tls ? Either.right(endpoint) : Either.left(KAFKA_PLAINTEXT_REFUSED)
  )

const hostPort = ({ host, port }: { readonly host: string; readonly port: number }) =>
  `${host.includes(":") ? `[${host}]` : host}:${port}`

/** The URL as the API shows it: scheme, hosts and target, never the credentials. */
export const shownUrl = (url: string, endpoint: BrokerEndpoint) => {
  const scheme = url.trim().slice(0, url.trim().indexOf("://")).toLowerCase()
  return `${scheme}://${endpoint.hosts.map(hostPort).join(",")}/${encodeURIComponent(endpoint.target)}`
}
