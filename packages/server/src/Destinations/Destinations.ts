import {
  Conflict,
  type CreateDestination,
  Destination,
  type DestinationId,
  InvalidRequest,
  type OrganizationId,
  type UpdateDestination,
  WebhookDelivery,
  type WebhookEndpointId,
  type WebhookMessageId
} from "@tapline/domain"
import { Effect, Either, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { AppConfig } from "../Config/AppConfig.js"
import { SecretBox } from "../Crypto/SecretBox.js"
import * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import { Quotas } from "../Quotas/Quotas.js"
import { type Backlog, type EndpointRow, WebhookRepository } from "../Webhooks/WebhookRepository.js"
import { urlData } from "../Webhooks/Webhooks.js"
import { parseDestinationUrl, shownUrl } from "./BrokerUrls.js"

const iso = (value: Date | null) => (value === null ? null : value.toISOString())

export const toDestination = (row: EndpointRow, backlog?: Backlog) =>
  Schema.decodeUnknownSync(Destination)({
    id: row.id,
    kind: row.kind,
    url: row.urlShown,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    failingSince: iso(row.failingSince),
    pending: backlog?.pending ?? 0,
    oldestPendingAt: iso(backlog?.oldestPendingAt ?? null),
    delivered: Number(row.deliveredCount),
    lastDeliveredAt: iso(row.lastDeliveredAt),
    lastError: row.lastError,
    lastErrorAt: iso(row.lastErrorAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString()
  })

/** The audit keeps the destination as shown and names a changed sealed URL "changed", never its ciphertext. */
const audited = (before: EndpointRow, after: EndpointRow) => ({
  oldValues: toDestination(before),
  newValues: {
    ...toDestination(after),
    ...(before.urlSealed === after.urlSealed ? {} : { urlSealed: "changed" })
  }
})

const RESOURCE = "destination"

/**
 * An organisation's broker destinations: endpoints of the outbox with a broker kind (the dispatcher delivers
 * to them as to webhooks), URL vetted by the outbound policy and sealed, the test ping, the delivery log and
 * the redrive of what it gave up on. Every change is audited; authorisation (OWNER) is the caller's.
 */
export class Destinations extends Effect.Service<Destinations>()("@tapline/server/Destinations", {
  effect: Effect.gen(function* () {
    const repository = yield* WebhookRepository
    const changes = yield* Changes
    const secrets = yield* SecretBox
    const config = yield* AppConfig
    const outbound = OutboundPolicy.make(config.outbound.allow)

    /** Parses and vets every host now, for an early answer; each connection is vetted again when made. */
    const vet = Effect.fn("Destinations.vet")(function* (url: string) {
      const parsed = parseDestinationUrl(url)
      if (Either.isLeft(parsed)) return yield* new InvalidRequest({ message: `url: ${parsed.left}` })
      const endpoint = parsed.right
      // All at once: up to 16 hosts, each within the policy's lookup timeout, answer in one timeout, not 16.
      yield* Effect.forEach(
        endpoint.hosts,
        ({ host }) =>
          Effect.tryPromise({
            try: () => outbound.resolve(host),
            catch: (error) => new InvalidRequest({ message: `url: ${host}: ${(error as Error).message}` })
          }),
        { concurrency: "unbounded", discard: true }
      )
      return { shown: shownUrl(url, endpoint), kind: endpoint.kind }
    })

    const withBacklog = (rows: ReadonlyArray<EndpointRow>) =>
      Effect.map(Effect.orDie(repository.backlog(rows.map((row) => row.id))), (backlogs) => {
        const by = new Map(backlogs.map((backlog) => [backlog.endpointId, backlog]))
        return rows.map((row) => toDestination(row, by.get(row.id)))
      })

    const load = (organizationId: OrganizationId, id: DestinationId, lock = false) =>
      changes.found(
        RESOURCE,
        id,
        repository.find(organizationId, id as string as WebhookEndpointId, { family: "broker", lock })
      )

    const create = Effect.fn("Destinations.create")(function* (
      organizationId: OrganizationId,
      input: typeof CreateDestination.Type
    ) {
      const { shown, kind } = yield* vet(input.url)
      const row = yield* changes.transact(
        Effect.gen(function* () {
          const row = yield* repository.insert({
            organizationId,
            kind,
            urlSealed: secrets.encrypt(input.url, urlData(organizationId)),
            urlShown: shown,
            description: input.description,
            eventTypes: input.eventTypes,
            secretSealed: null
          })
          yield* changes.record({
            organizationId,
            action: "destination.create",
            resourceType: RESOURCE,
            resourceId: row.id,
            newValues: toDestination(row)
          })
          return row
        })
      )
      return toDestination(row)
    })

    const list = Effect.fn("Destinations.list")(function* (organizationId: OrganizationId) {
      return yield* withBacklog(yield* Effect.orDie(repository.list(organizationId, "broker")))
    })

    const get = Effect.fn("Destinations.get")(function* (organizationId: OrganizationId, id: DestinationId) {
      const [destination] = yield* withBacklog([yield* load(organizationId, id)])
      return destination!
    })

    const update = Effect.fn("Destinations.update")(function* (
      organizationId: OrganizationId,
      id: DestinationId,
      input: typeof UpdateDestination.Type
    ) {
      const url = input.url === undefined ? undefined : yield* vet(input.url)
      const row = yield* changes.changeRow({
        organizationId,
        resourceType: RESOURCE,
        resourceId: id,
        action: "destination.update",
        lock: repository.find(organizationId, id as string as WebhookEndpointId, {
          family: "broker",
          lock: true
        }),
        apply: (before) =>
          Effect.gen(function* () {
            if (url !== undefined && url.kind !== before.kind) {
              return yield* new InvalidRequest({
                message: `url: this destination is ${before.kind}; add a new destination for ${url.kind}`
              })
            }
            const columns = {
              ...(input.url === undefined || url === undefined
                ? {}
                : { urlSealed: secrets.encrypt(input.url, urlData(organizationId)), urlShown: url.shown }),
              ...(input.description === undefined ? {} : { description: input.description }),
              ...(input.eventTypes === undefined ? {} : { eventTypes: input.eventTypes }),
              ...(input.enabled === undefined || input.enabled === before.enabled
                ? {}
                : input.enabled
                  ? // A fresh start: the failures that disabled it are behind it.
                    { enabled: true, disabledReason: null, failingSince: null }
                  : { enabled: false, disabledReason: "disabled by an owner" })
            }
            return Object.keys(columns).length === 0 ? [] : yield* repository.update(before.id, columns)
          }),
        audited
      })
      const [destination] = yield* withBacklog([row])
      return destination!
    })

    const remove = Effect.fn("Destinations.remove")(function* (
      organizationId: OrganizationId,
      id: DestinationId
    ) {
      yield* changes.transact(
        Effect.gen(function* () {
          const before = yield* repository.remove(organizationId, id as string as WebhookEndpointId, "broker")
          if (before === undefined) return yield* changes.notFound(RESOURCE, id)
          yield* changes.record({
            organizationId,
            action: "destination.delete",
            resourceType: RESOURCE,
            resourceId: id,
            oldValues: toDestination(before)
          })
        })
      )
    })

    /** A `webhook.test` message for this destination only, counted against the organisation's test pings. */
    const test = Effect.fn("Destinations.test")(function* (
      organizationId: OrganizationId,
      id: DestinationId
    ) {
      const destination = yield* load(organizationId, id)
      if (!destination.enabled) {
        return yield* new Conflict({ message: "the destination is disabled: enable it to send it messages" })
      }
      yield* (yield* Quotas).take("testPings", organizationId)
      const messageId = yield* changes.transact(
        repository.publish(organizationId, "webhook.test", { endpointId: id }, destination.id)
      )
      return { messageId: messageId as WebhookMessageId }
    })

    const deliveries = Effect.fn("Destinations.deliveries")(function* (
      organizationId: OrganizationId,
      id: DestinationId,
      request: PageRequest
    ) {
      const destination = yield* load(organizationId, id)
      return yield* listPage(
        request,
        (query) => repository.deliveries(destination.id, query),
        (row) =>
          Effect.orDie(
            Schema.decodeUnknown(WebhookDelivery)(
              Object.fromEntries(
                Object.entries(row).map(([key, value]) => [
                  key,
                  value instanceof Date ? value.toISOString() : value
                ])
              )
            )
          ),
        (delivery) => delivery.messageId
      )
    })

    /** Every message it gave up on, pending again with fresh retries; audited with how many. */
    const redrive = Effect.fn("Destinations.redrive")(function* (
      organizationId: OrganizationId,
      id: DestinationId
    ) {
      return yield* changes.transact(
        Effect.gen(function* () {
          const destination = yield* load(organizationId, id, true)
          const requeued = yield* repository.redrive(destination.id)
          yield* changes.record({
            organizationId,
            action: "destination.redrive",
            resourceType: RESOURCE,
            resourceId: id,
            newValues: { requeued }
          })
          return { requeued }
        })
      )
    })

    return { create, list, get, update, remove, test, deliveries, redrive } as const
  }),
  dependencies: [WebhookRepository.Default]
}) {}
