import { Config, ConfigError, Duration, Effect, Either, Redacted } from "effect"
import { type BrokerEndpoint, parseBrokerUrl } from "../Brokers/BrokerConfig.js"

/*
 * Platform registration sources, as BROKER_DESTINATIONS names platform destinations:
 *
 *   REGISTRATION_SOURCES=tickets,box-office
 *   REGISTRATION_TICKETS_URL=amqp://user:pass@rabbit:5672/ticketing
 *   REGISTRATION_TICKETS_ORGANIZATIONS=acme,0190…   (organisation slugs or ids: the allow-list, required)
 *
 * A platform source reads every organisation's registrations its broker carries, so the allow-list says
 * whose it may apply; an event of any other organisation is a dead letter.
 */

export interface PlatformSource {
  readonly name: string
  readonly endpoint: BrokerEndpoint
  /** Organisation slugs and ids, lower case. */
  readonly organizations: ReadonlySet<string>
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/

const variable = (name: string, what: string) =>
  `REGISTRATION_${name.toUpperCase().replace(/-/g, "_")}_${what}`

const list = (text: string) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0)

const names = Config.string("REGISTRATION_SOURCES").pipe(
  Config.withDefault(""),
  Config.mapOrFail((text) => {
    const found = list(text)
    return found.some((name) => !NAME.test(name)) || new Set(found).size !== found.length
      ? Either.left(
          ConfigError.InvalidData(
            ["REGISTRATION_SOURCES"],
            "expected distinct names like tickets or box-office"
          )
        )
      : Either.right(found)
  })
)

const source = (name: string) =>
  Config.all({
    endpoint: Config.redacted(variable(name, "URL")).pipe(
      Config.mapOrFail((url) =>
        Either.mapLeft(parseBrokerUrl(Redacted.value(url)), (why) =>
          ConfigError.InvalidData([variable(name, "URL")], why)
        )
      )
    ),
    organizations: Config.string(variable(name, "ORGANIZATIONS")).pipe(
      Config.mapOrFail((text) => {
        const allowed = list(text).map((item) => item.toLowerCase())
        return allowed.length === 0
          ? Either.left(
              ConfigError.InvalidData(
                [variable(name, "ORGANIZATIONS")],
                "name at least one organisation (slug or id) this source may register for"
              )
            )
          : Either.right(new Set(allowed))
      })
    )
  }).pipe(Config.map((read) => ({ name, ...read })))

/** REGISTRATION_SOURCES with each one's URL and allow-list; none by default. */
export const platformSources: Effect.Effect<
  ReadonlyArray<PlatformSource>,
  ConfigError.ConfigError
> = Effect.flatMap(names, (found) => Effect.forEach(found, (name) => source(name)))

/** How often the organisations' sources are read again, so a created or changed one starts. */
export const refreshEvery = Config.duration("REGISTRATION_SOURCES_REFRESH").pipe(
  Config.withDefault(Duration.seconds(30))
)

/** How long dead letters (and the processed-message ids that make redeliveries no-ops) are kept. */
export const keepDays = Config.integer("REGISTRATION_KEEP_DAYS").pipe(
  Config.validate({
    message: "expected a number of days from 1 to 3650",
    validation: (n) => n >= 1 && n <= 3650
  }),
  Config.withDefault(30)
)

/** Every consumer reads the two registration types and nothing else, whatever else the broker carries. */
export const routes = (consumerName: string) => ({
  name: `tapline-registrations-${consumerName}`,
  // RabbitMQ routing keys are `<type without tapline.>.<org slug>` (RabbitBroker.routingKeyOf).
  bindingKeys: ["band.registered.#", "band.unregistered.#"],
  // NATS subjects are `tapline.<org slug>.<type without tapline.>` (NatsBroker.subjectOf).
  filterSubject: "tapline.*.band.*"
})
