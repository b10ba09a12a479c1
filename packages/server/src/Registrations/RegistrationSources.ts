import {
  type CreateRegistrationSource,
  InvalidRequest,
  type OrganizationId,
  type PageParams,
  RegistrationDeadLetter,
  RegistrationSource,
  type RegistrationSourceId,
  type UpdateRegistrationSource
} from "@tapline/domain"
import { DateTime, Effect, Either } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage } from "../Admin/Pagination.js"
import { type BrokerEndpoint, parseBrokerUrl } from "../Brokers/BrokerConfig.js"
import { AppConfig } from "../Config/AppConfig.js"
import { SecretBox } from "../Crypto/SecretBox.js"
import * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import { type DeadLetterRow, RegistrationRepository, type SourceRow } from "./RegistrationRepository.js"

export const KAFKA_PLAINTEXT_REFUSED =
  "kafka:// is not accepted for an organisation's registration source: use kafka+tls:// (Tapline checks " +
  "every address the Kafka client connects to, and can do so only over TLS)"

/** Sealed per organisation: a sealed URL copied into another tenant's row does not open. */
export const sealedUrlData = (organizationId: string) => `registration-source-url:${organizationId}`

const SCHEME = {
  kafka: ["kafka", "kafka+tls"],
  rabbitmq: ["amqp", "amqps"],
  nats: ["nats", "nats+tls"]
} as const

/** The URL as the API shows it: scheme, hosts and name, never the credentials. */
export const shownUrl = (endpoint: BrokerEndpoint) =>
  `${SCHEME[endpoint.kind][endpoint.tls ? 1 : 0]}://${endpoint.hosts
    .map(({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`)
    .join(",")}/${encodeURIComponent(endpoint.target)}`

const toSource = (row: SourceRow) =>
  new RegistrationSource({
    id: row.id,
    name: row.name,
    kind: Either.getOrThrow(parseBrokerUrl(row.urlShown)).kind,
    url: row.urlShown,
    enabled: row.enabled,
    createdAt: DateTime.unsafeFromDate(row.createdAt),
    updatedAt: DateTime.unsafeFromDate(row.updatedAt)
  })

const toDeadLetter = (row: DeadLetterRow) =>
  Effect.succeed(
    new RegistrationDeadLetter({
      id: row.id,
      messageId: row.messageId,
      reason: row.reason,
      body: row.body,
      bodyBytes: row.bodyBytes,
      receivedAt: DateTime.unsafeFromDate(row.receivedAt)
    })
  )

/**
 * An organisation's registration sources: create (the URL parsed, its hosts vetted by the outbound policy,
 * the URL sealed), list, get, update, remove, and the dead letters of one. Each change is audited as the API
 * shows the source, never its sealed URL. RegistrationConsumers.ts starts and stops the consumers.
 */
export class RegistrationSources extends Effect.Service<RegistrationSources>()(
  "@tapline/server/RegistrationSources",
  {
    effect: Effect.gen(function* () {
      const repository = yield* RegistrationRepository
      const changes = yield* Changes
      const secrets = yield* SecretBox
      const policy = OutboundPolicy.make((yield* AppConfig).outbound.allow)

      /**
       * The URL parsed, of a kind an organisation may use, every host allowed by the outbound policy. Kafka
       * over TLS only: its client opens its own sockets, and only TLS ones take the vetting resolver
       * (Brokers/KafkaBroker.ts `vettingTls`); each of its hosts is a bootstrap broker, so each is vetted.
       */
      const checked = (url: string) =>
        Effect.gen(function* () {
          const parsed = parseBrokerUrl(url)
          if (Either.isLeft(parsed)) return yield* new InvalidRequest({ message: `url: ${parsed.left}` })
          const endpoint = parsed.right
          if (endpoint.kind === "kafka" && !endpoint.tls)
            return yield* new InvalidRequest({ message: `url: ${KAFKA_PLAINTEXT_REFUSED}` })
          yield* Effect.forEach(endpoint.hosts, ({ host }) =>
            Effect.tryPromise({
              try: () => policy.resolve(host),
              catch: (error) => new InvalidRequest({ message: `url: ${OutboundPolicy.reasonOf(error)}` })
            })
          )
          return endpoint
        })

      const load = (organizationId: OrganizationId, id: RegistrationSourceId) =>
        changes.found("registration source", id, repository.find(organizationId, id))

      const create = Effect.fn("RegistrationSources.create")(function* (
        organizationId: OrganizationId,
        input: typeof CreateRegistrationSource.Type
      ) {
        const endpoint = yield* checked(input.url)
        const row = yield* changes.transact(
          Effect.gen(function* () {
            const row = yield* repository.insert({
              organizationId,
              name: input.name,
              urlSealed: secrets.encrypt(input.url, sealedUrlData(organizationId)),
              urlShown: shownUrl(endpoint),
              enabled: input.enabled
            })
            yield* changes.record({
              organizationId,
              action: "registration_source.create",
              resourceType: "registration_source",
              resourceId: row.id,
              newValues: toSource(row)
            })
            return row
          })
        )
        return toSource(row)
      })

      const list = Effect.fn("RegistrationSources.list")(function* (organizationId: OrganizationId) {
        return (yield* Effect.orDie(repository.list(organizationId))).map(toSource)
      })

      const get = Effect.fn("RegistrationSources.get")(function* (
        organizationId: OrganizationId,
        id: RegistrationSourceId
      ) {
        return toSource(yield* load(organizationId, id))
      })

      const update = Effect.fn("RegistrationSources.update")(function* (
        organizationId: OrganizationId,
        id: RegistrationSourceId,
        input: typeof UpdateRegistrationSource.Type
      ) {
        const endpoint = input.url === undefined ? undefined : yield* checked(input.url)
        const row = yield* changes.changeRow({
          organizationId,
          resourceType: "registration_source",
          resourceId: id,
          action: "registration_source.update",
          lock: repository.find(organizationId, id, true),
          apply: () => {
            const columns = {
              ...(input.url === undefined || endpoint === undefined
                ? {}
                : {
                    urlSealed: secrets.encrypt(input.url, sealedUrlData(organizationId)),
                    urlShown: shownUrl(endpoint)
                  }),
              ...(input.enabled === undefined ? {} : { enabled: input.enabled })
            }
            return Object.keys(columns).length === 0 ? Effect.succeed([]) : repository.update(id, columns)
          },
          audited: (before, after) => ({ oldValues: toSource(before), newValues: toSource(after) })
        })
        return toSource(row)
      })

      const remove = Effect.fn("RegistrationSources.remove")(function* (
        organizationId: OrganizationId,
        id: RegistrationSourceId
      ) {
        yield* changes.transact(
          Effect.gen(function* () {
            const before = yield* repository.remove(organizationId, id)
            if (before === undefined) return yield* changes.notFound("registration source", id)
            yield* changes.record({
              organizationId,
              action: "registration_source.delete",
              resourceType: "registration_source",
              resourceId: id,
              oldValues: toSource(before)
            })
          })
        )
      })

      const deadLetters = Effect.fn("RegistrationSources.deadLetters")(function* (
        organizationId: OrganizationId,
        id: RegistrationSourceId,
        page: PageParams
      ) {
        yield* load(organizationId, id)
        return yield* listPage(
          page,
          (query) => repository.deadLetters(`source:${id}`, query),
          toDeadLetter,
          (letter) => letter.id
        )
      })

      return { create, list, get, update, remove, deadLetters }
    }),
    dependencies: [RegistrationRepository.Default]
  }
) {}
