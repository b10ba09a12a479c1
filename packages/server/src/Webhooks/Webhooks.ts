import {
  Conflict,
  type CreateWebhookEndpoint,
  InvalidRequest,
  type OrganizationId,
  type RotateWebhookSecret,
  type UpdateWebhookEndpoint,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  type WebhookEndpointId,
  type WebhookMessageId
} from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { AppConfig } from "../Config/AppConfig.js"
import { SecretBox } from "../Crypto/SecretBox.js"
import * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import type { EndpointKind } from "../Outbox/Destination.js"
import { Quotas } from "../Quotas/Quotas.js"
import { newSecret } from "./Signature.js"
import { type EndpointRow, WebhookRepository } from "./WebhookRepository.js"

/** Dates as the API's encoded form, so rows decode with the domain schemas. */
const isoDates = (row: object): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(row).map(([key, value]) => [key, value instanceof Date ? value.toISOString() : value])
  )

export const toEndpoint = (row: EndpointRow) =>
  Schema.decodeUnknownSync(WebhookEndpoint)(
    isoDates({
      id: row.id,
      kind: row.kind,
      url: row.urlShown,
      description: row.description,
      eventTypes: row.eventTypes,
      enabled: row.enabled,
      disabledReason: row.disabledReason,
      failingSince: row.failingSince,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt
    })
  )

/** The sealed columns: credentials (a chat URL is one) as ciphertext, which the audit log never copies. */
const SEALED = ["urlSealed", "secretSealed", "previousSecretSealed"] as const

/**
 * What the audit log keeps of an endpoint's change: the endpoint as the API shows it, and each sealed column
 * that changed named "changed" (docs/decisions.md; migration 0013 redacts entries written before).
 */
export const auditedChange = (before: EndpointRow, after: EndpointRow) => ({
  oldValues: toEndpoint(before),
  newValues: {
    ...toEndpoint(after),
    ...Object.fromEntries(
      SEALED.filter((column) => before[column] !== after[column]).map((c) => [c, "changed"])
    )
  }
})

/** Sealed per organisation: a sealed URL or secret copied into another tenant's row does not open. */
export const urlData = (organizationId: string) => `webhook-url:${organizationId}`
export const secretData = (organizationId: string) => `webhook-secret:${organizationId}`

/** A chat webhook's URL is its credential: only its origin is ever shown. */
const shownUrl = (kind: EndpointKind, url: string) => (kind === "webhook" ? url : `${new URL(url).origin}/…`)

/**
 * Outgoing webhooks and chat alerts of an organisation: endpoints (URL vetted by the outbound policy, URL and
 * secret sealed), secret rotation with an overlap, the test ping, the delivery log and redelivery. Every
 * change is audited; authorisation (OWNER) is the caller's.
 */
export class Webhooks extends Effect.Service<Webhooks>()("@tapline/server/Webhooks", {
  effect: Effect.gen(function* () {
    const repository = yield* WebhookRepository
    const changes = yield* Changes
    const secrets = yield* SecretBox
    const config = yield* AppConfig
    const outbound = OutboundPolicy.make(config.outbound.allow)

    const vet = (url: string) =>
      Effect.tryPromise({
        try: () => outbound.vet(url),
        catch: (error) => new InvalidRequest({ message: `url: ${(error as Error).message}` })
      })

    const checkTypes = (kind: EndpointKind, eventTypes: ReadonlyArray<string>) =>
      kind !== "webhook" && eventTypes.includes("tap.created")
        ? Effect.fail(
            new InvalidRequest({
              message: "eventTypes: tap.created goes to webhook receivers, not to chat channels"
            })
          )
        : Effect.void

    const load = (organizationId: OrganizationId, id: WebhookEndpointId) =>
      changes.found("webhook", id, repository.find(organizationId, id))

    const create = Effect.fn("Webhooks.create")(function* (
      organizationId: OrganizationId,
      input: typeof CreateWebhookEndpoint.Type
    ) {
      yield* checkTypes(input.kind, input.eventTypes)
      yield* vet(input.url)
      const secret = input.kind === "webhook" ? newSecret() : null
      const row = yield* changes.transact(
        Effect.gen(function* () {
          const row = yield* repository.insert({
            organizationId,
            kind: input.kind,
            urlSealed: secrets.encrypt(input.url, urlData(organizationId)),
            urlShown: shownUrl(input.kind, input.url),
            description: input.description,
            eventTypes: input.eventTypes,
            secretSealed: secret === null ? null : secrets.encrypt(secret, secretData(organizationId))
          })
          yield* changes.record({
            organizationId,
            action: "webhook.create",
            resourceType: "webhook",
            resourceId: row.id,
            newValues: toEndpoint(row)
          })
          return row
        })
      )
      return { endpoint: toEndpoint(row), secret }
    })

    const list = Effect.fn("Webhooks.list")(function* (organizationId: OrganizationId) {
      return (yield* Effect.orDie(repository.list(organizationId))).map(toEndpoint)
    })

    const get = Effect.fn("Webhooks.get")(function* (organizationId: OrganizationId, id: WebhookEndpointId) {
      return toEndpoint(yield* load(organizationId, id))
    })

    const update = Effect.fn("Webhooks.update")(function* (
      organizationId: OrganizationId,
      id: WebhookEndpointId,
      input: typeof UpdateWebhookEndpoint.Type
    ) {
      if (input.url !== undefined) yield* vet(input.url)
      const row = yield* changes.changeRow({
        organizationId,
        resourceType: "webhook",
        resourceId: id,
        action: "webhook.update",
        lock: repository.find(organizationId, id, { lock: true }),
        apply: (before) =>
          Effect.gen(function* () {
            if (input.eventTypes !== undefined) yield* checkTypes(before.kind, input.eventTypes)
            const columns = {
              ...(input.url === undefined
                ? {}
                : {
                    urlSealed: secrets.encrypt(input.url, urlData(organizationId)),
                    urlShown: shownUrl(before.kind, input.url)
                  }),
              ...(input.description === undefined ? {} : { description: input.description }),
              ...(input.eventTypes === undefined ? {} : { eventTypes: input.eventTypes }),
              ...(input.enabled === undefined || input.enabled === before.enabled
                ? {}
                : input.enabled
                  ? // A fresh start: the failures that disabled it are behind it.
                    { enabled: true, disabledReason: null, failingSince: null }
                  : { enabled: false, disabledReason: "disabled by an owner" })
            }
            return Object.keys(columns).length === 0 ? [] : yield* repository.update(id, columns)
          }),
        audited: auditedChange
      })
      return toEndpoint(row)
    })

    const remove = Effect.fn("Webhooks.remove")(function* (
      organizationId: OrganizationId,
      id: WebhookEndpointId
    ) {
      yield* changes.transact(
        Effect.gen(function* () {
          const before = yield* repository.remove(organizationId, id)
          if (before === undefined) return yield* changes.notFound("webhook", id)
          yield* changes.record({
            organizationId,
            action: "webhook.delete",
            resourceType: "webhook",
            resourceId: id,
            oldValues: toEndpoint(before)
          })
        })
      )
    })

    /** The current secret becomes the previous one, still signing until the overlap ends. */
    const rotateSecret = Effect.fn("Webhooks.rotateSecret")(function* (
      organizationId: OrganizationId,
      id: WebhookEndpointId,
      input: typeof RotateWebhookSecret.Type
    ) {
      const secret = newSecret()
      const row = yield* changes.transact(
        Effect.gen(function* () {
          const before = yield* changes.found(
            "webhook",
            id,
            repository.find(organizationId, id, { lock: true })
          )
          if (before.kind !== "webhook" || before.secretSealed === null) {
            return yield* new Conflict({
              message: "chat webhooks are not signed: there is no secret to rotate"
            })
          }
          const [row] = yield* repository.update(id, {
            secretSealed: secrets.encrypt(secret, secretData(organizationId)),
            previousSecretSealed: before.secretSealed,
            previousSecretUntil: new Date(Date.now() + input.overlapMinutes * 60_000)
          })
          yield* changes.record({
            organizationId,
            action: "webhook.rotate_secret",
            resourceType: "webhook",
            resourceId: id,
            newValues: { overlapMinutes: input.overlapMinutes, secretSealed: "changed" }
          })
          return row!
        })
      )
      return { endpoint: toEndpoint(row), secret }
    })

    const test = Effect.fn("Webhooks.test")(function* (
      organizationId: OrganizationId,
      id: WebhookEndpointId
    ) {
      const endpoint = yield* load(organizationId, id)
      if (!endpoint.enabled) {
        return yield* new Conflict({ message: "the endpoint is disabled: enable it to send it messages" })
      }
      // Each ping is a request the shared dispatcher sends (and waits on): counted per organisation.
      yield* (yield* Quotas).take("testPings", organizationId)
      const messageId = yield* changes.transact(
        repository.publish(organizationId, "webhook.test", { endpointId: id }, id)
      )
      return { messageId: messageId as WebhookMessageId }
    })

    /** A page of an endpoint's log (deliveries by message, or attempts), once the endpoint is found. */
    const logPage = <S extends Schema.Schema.AnyNoContext>(
      schema: S,
      fetch: typeof repository.deliveries,
      keyOf: (item: Schema.Schema.Type<S>) => string
    ) =>
      Effect.fnUntraced(function* (
        organizationId: OrganizationId,
        id: WebhookEndpointId,
        request: PageRequest
      ) {
        yield* load(organizationId, id)
        return yield* listPage(
          request,
          (query) => fetch(id, query),
          (row) =>
            Effect.orDie(
              Schema.decodeUnknown(schema)(isoDates(row)) as Effect.Effect<Schema.Schema.Type<S>, unknown>
            ),
          keyOf
        )
      })

    const deliveries = logPage(WebhookDelivery, repository.deliveries, (delivery) => delivery.messageId)
    const attempts = logPage(WebhookAttempt, repository.attempts, (attempt) => attempt.id)

    const redeliver = Effect.fn("Webhooks.redeliver")(function* (
      organizationId: OrganizationId,
      id: WebhookEndpointId,
      messageId: WebhookMessageId
    ) {
      yield* changes.transact(
        Effect.gen(function* () {
          yield* changes.found("webhook", id, repository.find(organizationId, id))
          if (!(yield* repository.redeliver(id, messageId))) {
            return yield* changes.notFound("webhook delivery", messageId)
          }
          yield* changes.record({
            organizationId,
            action: "webhook.redeliver",
            resourceType: "webhook",
            resourceId: id,
            newValues: { messageId }
          })
        })
      )
      return { messageId }
    })

    return {
      create,
      list,
      get,
      update,
      remove,
      rotateSecret,
      test,
      deliveries,
      attempts,
      redeliver
    } as const
  }),
  dependencies: [WebhookRepository.Default]
}) {}
