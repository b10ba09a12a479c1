import * as Fs from "node:fs"
import { Config, ConfigError, Effect, Either, Option, Redacted } from "effect"
import type { BrokerKind } from "./Broker.js"

/*
 * Where a broker is, as one URL an operator (BROKER_<NAME>_URL) or an organisation's owner types:
 *
 *   kafka://[user:password@]host:9092[,host2:9092]/topic      kafka+tls://… for TLS
 *   amqp://[user:password@]host:5672/exchange                 amqps://… for TLS
 *   nats://[user:password@]host:4222[,host2:4222]/STREAM      nats+tls://… for TLS
 *
 * The path names what is published to (Kafka's topic, RabbitMQ's exchange, NATS's stream); without one, the
 * defaults below. Several hosts are bootstrap or failover addresses of one cluster.
 */

export interface BrokerHost {
  readonly host: string
  readonly port: number
}

export interface BrokerEndpoint {
  readonly kind: BrokerKind
  readonly tls: boolean
  readonly hosts: ReadonlyArray<BrokerHost>
  readonly username: string | undefined
  readonly password: Redacted.Redacted | undefined
  /** Kafka's topic, RabbitMQ's exchange, NATS's stream. */
  readonly target: string
}

const SCHEMES: Record<string, { readonly kind: BrokerKind; readonly tls: boolean; readonly port: number }> = {
  kafka: { kind: "kafka", tls: false, port: 9092 },
  "kafka+tls": { kind: "kafka", tls: true, port: 9093 },
  amqp: { kind: "rabbitmq", tls: false, port: 5672 },
  amqps: { kind: "rabbitmq", tls: true, port: 5671 },
  nats: { kind: "nats", tls: false, port: 4222 },
  "nats+tls": { kind: "nats", tls: true, port: 4222 }
}

export const DEFAULT_TARGET: Record<BrokerKind, string> = {
  kafka: "tapline.taps",
  rabbitmq: "tapline",
  nats: "TAPLINE"
}

// Names brokers accept for topics, exchanges and streams alike (NATS refuses dots in a stream's name).
const TARGET = {
  kafka: /^[A-Za-z0-9._-]{1,249}$/,
  rabbitmq: /^[A-Za-z0-9._:-]{1,255}$/,
  nats: /^[A-Za-z0-9_-]{1,64}$/
}
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/

/** A %-escaped part, or undefined when an escape is malformed (`decodeURIComponent` would throw). */
const decoded = (part: string): string | undefined => {
  try {
    return decodeURIComponent(part)
  } catch {
    return undefined
  }
}

/** A broker URL, or why not (never quoting the password). */
export const parseBrokerUrl = (text: string): Either.Either<BrokerEndpoint, string> => {
  const match = /^([a-z+]+):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(?:\/([^?#]*))?$/.exec(text.trim())
  if (text.length > 2048 || match === null)
    return Either.left("expected scheme://[user:password@]host:port[,host:port]/name")
  const [, scheme, user, password, hostList, path] = match
  const known = SCHEMES[scheme!]
  if (known === undefined)
    return Either.left(`unknown scheme ${scheme}: expected ${Object.keys(SCHEMES).join(", ")}`)
  const hosts: Array<BrokerHost> = []
  for (const part of hostList!.split(",")) {
    const hostPort = /^(.+?)(?::(\d{1,5}))?$/.exec(part.trim())
    const host = hostPort?.[1]
    const port = hostPort?.[2] === undefined ? known.port : Number(hostPort[2])
    if (host === undefined || !HOST.test(host) || port < 1 || port > 65_535)
      return Either.left("expected host:port pairs separated by commas")
    hosts.push({ host: host.replace(/^\[|\]$/g, ""), port })
  }
  if (hosts.length > 16) return Either.left("at most 16 hosts")
  const parts = [path ?? "", user ?? "", password ?? ""].map(decoded)
  if (parts.some((part) => part === undefined)) return Either.left("a malformed %-escape in the URL")
  const [target = DEFAULT_TARGET[known.kind], username, secret] = parts.map((part) =>
    part === "" ? undefined : part
  )
  if (!TARGET[known.kind].test(target))
    return Either.left(`"${target.slice(0, 64)}" is not a name ${known.kind} takes for what it publishes to`)
  return Either.right({
    kind: known.kind,
    tls: known.tls,
    hosts,
    username,
    password: password === undefined ? undefined : Redacted.make(secret ?? ""),
    target
  })
}

/** A platform destination: every organisation's taps, from its own consumer group of the tap stream. */
export interface PlatformDestination {
  readonly name: string
  readonly endpoint: BrokerEndpoint
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/

/** `analytics` → `BROKER_ANALYTICS_URL`. */
export const urlVariable = (name: string) => `BROKER_${name.toUpperCase().replace(/-/g, "_")}_URL`

const brokerUrl = (variable: string) =>
  Config.redacted(variable).pipe(
    Config.mapOrFail((url) =>
      Either.mapLeft(parseBrokerUrl(Redacted.value(url)), (why) => ConfigError.InvalidData([variable], why))
    )
  )

const destinationNames = Config.string("BROKER_DESTINATIONS").pipe(
  Config.withDefault(""),
  Config.mapOrFail((text) => {
    const names = text
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name.length > 0)
    const bad = names.filter((name) => !NAME.test(name))
    if (bad.length > 0 || new Set(names).size !== names.length)
      return Either.left(
        ConfigError.InvalidData(["BROKER_DESTINATIONS"], "expected distinct names like main or data-team")
      )
    return Either.right(names)
  })
)

/**
 * BROKER_DESTINATIONS: the platform destinations' names, comma-separated (none by default), each with its
 * BROKER_<NAME>_URL. A name is also its consumer group (`broker-<name>`): renaming one starts a new group.
 */
export const platformDestinations: Effect.Effect<
  ReadonlyArray<PlatformDestination>,
  ConfigError.ConfigError
> = Effect.flatMap(destinationNames, (names) =>
  Effect.forEach(names, (name) =>
    Effect.map(brokerUrl(urlVariable(name)), (endpoint) => ({ name, endpoint }))
  )
)

/** The tap stream's consumer group of a platform destination. */
export const groupOf = (destination: PlatformDestination) => `broker-${destination.name}`

/**
 * BROKER_CA_FILE: a PEM file of CA certificates trusted, besides the system's, for brokers' TLS (platform and
 * organisations' Kafka, RabbitMQ and NATS), for an operator whose brokers have a private CA. Read at start.
 */
export const brokerCa: Config.Config<string | undefined> = Config.option(
  Config.string("BROKER_CA_FILE")
).pipe(
  Config.mapOrFail((file) => {
    if (Option.isNone(file) || file.value.trim() === "") return Either.right(undefined)
    try {
      const pem = Fs.readFileSync(file.value, "utf8")
      return pem.includes("-----BEGIN CERTIFICATE-----")
        ? Either.right(pem)
        : Either.left(ConfigError.InvalidData(["BROKER_CA_FILE"], "expected PEM certificates"))
    } catch {
      return Either.left(ConfigError.InvalidData(["BROKER_CA_FILE"], "the file cannot be read"))
    }
  })
)
