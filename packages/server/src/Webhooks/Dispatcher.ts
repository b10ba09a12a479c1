import { Duration, Effect, FiberSet, Layer, Queue } from "effect"
import { Audit } from "../Audit/Audit.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { SecretBox } from "../Crypto/SecretBox.js"
import { Jobs } from "../Jobs/Jobs.js"
import { Mailer } from "../Mail/Mailer.js"
import * as MailTemplates from "../Mail/MailTemplates.js"
import * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import { byKind, Destinations, isBrokerKind } from "../Outbox/Destination.js"
import { gauge, Metrics } from "../Telemetry/Metrics.js"
import * as WebhookDestinations from "./Destinations.js"
import { type DueDelivery, WebhookRepository } from "./WebhookRepository.js"
import { secretData, urlData } from "./Webhooks.js"

/**
 * Sends due deliveries: claims them as slots free up (other instances skip them), organisations in turn and
 * each endpoint and organisation within its cap, hands each to the destination of its endpoint's kind
 * (Outbox/Destination.ts: a signed webhook, a chat message), logs the attempt and reschedules a failure by
 * WEBHOOK_RETRY_DELAYS. When a delivery has used up its retries and its endpoint has delivered nothing since
 * that delivery's first attempt, the endpoint is disabled, audited, announced to the organisation's other
 * endpoints (`webhook.disabled`) and mailed to its owners, whatever its destination. Runs where the jobs run
 * (JOBS_ENABLED).
 */
export const deliver = Layer.scopedDiscard(
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (!config.jobs.enabled) return
    const repository = yield* WebhookRepository
    const secrets = yield* SecretBox
    const audit = yield* Audit
    const mailer = yield* Mailer
    const jobs = yield* Jobs
    const destinations = byKind(yield* Destinations)
    const metrics = yield* Metrics
    yield* gauge(metrics, {
      name: "tapline_webhook_deliveries_pending",
      help: "Webhook, chat and broker destination deliveries waiting to be sent (due or scheduled for a retry)",
      read: () => Effect.runPromise(repository.pendingCount)
    })
    const delays = config.webhooks.retryDelays.map((delay) => Math.ceil(Duration.toSeconds(delay)))
    const timeoutMs = Duration.toMillis(config.webhooks.timeout)
    // A claim outlives the slowest attempt (the address check, the request, the record); one whose process died
    // or whose outcome could not be recorded is due again after that.
    const leaseSeconds = Math.ceil(timeoutMs / 1000) + 10

    /** A broker destination is told as one (its API, its words); webhooks and chat as endpoints. */
    const wordsFor = (due: DueDelivery) =>
      isBrokerKind(due.kind)
        ? {
            resource: "destination",
            path: "destinations",
            title: "Destination disabled",
            stopped: "publishing",
            what: "Messages for it wait; an owner re-enables it (PATCH enabled: true) once the broker answers again, and can redrive what it gave up on.",
            log: "broker destination disabled after sustained failure"
          }
        : {
            resource: "webhook",
            path: "webhooks",
            title: "Webhook endpoint disabled",
            stopped: "sending",
            what: "Messages for it wait; an owner re-enables it (PATCH enabled: true) once it answers again, and can redeliver what it missed.",
            log: "webhook endpoint disabled after sustained failure"
          }

    const disable = (due: DueDelivery, reason: string) =>
      jobs.transactional(
        Effect.gen(function* () {
          if (!(yield* repository.disable(due.endpointId, reason))) return
          const words = wordsFor(due)
          yield* audit.record({
            organizationId: due.organizationId,
            action: `${words.resource}.disable`,
            resourceType: words.resource,
            resourceId: due.endpointId,
            newValues: { enabled: false, reason }
          })
          yield* repository.publish(due.organizationId, "webhook.disabled", {
            endpointId: due.endpointId,
            url: due.urlShown,
            reason
          })
          const { organization, owners } = yield* repository.ownersOf(due.organizationId)
          if (organization === undefined) return
          const mail = MailTemplates.alert(MailTemplates.brandOf(organization), {
            title: words.title,
            lines: [`Tapline stopped ${words.stopped} to ${due.urlShown}: ${reason}.`, words.what],
            link: {
              label: `Open the ${words.resource === "webhook" ? "endpoint" : "destination"}`,
              href: new URL(
                `/api/v1/organizations/${due.organizationId}/${words.path}/${due.endpointId}`,
                publicOrigin(config)
              ).href
            }
          })
          for (const owner of owners) yield* mailer.send("webhook.disabled", owner.email, mail)
          yield* Effect.logWarning(words.log).pipe(
            Effect.annotateLogs({ endpointId: due.endpointId, organizationId: due.organizationId, reason })
          )
        })
      )

    const attempt = (due: DueDelivery) =>
      Effect.gen(function* () {
        const url = yield* secrets.decrypt(due.urlSealed, urlData(due.organizationId))
        const signing: Array<string> = []
        for (const sealed of [due.secretSealed, due.previousSecretSealed]) {
          if (sealed !== null) signing.push(yield* secrets.decrypt(sealed, secretData(due.organizationId)))
        }
        const destination = destinations.get(due.kind)
        if (destination === undefined) return yield* Effect.dieMessage(`no destination sends to ${due.kind}`)
        const started = performance.now()
        const outcome = yield* destination.send(
          {
            id: due.messageId,
            organizationId: due.organizationId,
            eventType: due.eventType,
            data: due.payload,
            createdAt: due.messageCreatedAt
          },
          { endpointId: due.endpointId, kind: due.kind, url, secrets: signing }
        )
        if (outcome.error === "refused by the outbound policy") {
          // For the operator: which endpoint and why; the tenant's log says the category only.
          yield* Effect.logWarning("webhook delivery refused by the outbound policy").pipe(
            Effect.annotateLogs({
              endpointId: due.endpointId,
              organizationId: due.organizationId,
              reason: OutboundPolicy.reasonOf(outcome.cause)
            })
          )
        }
        const responseMs = Math.round(performance.now() - started)
        const delivered = outcome.error === null
        const retryInSeconds = delivered || due.attempts >= delays.length ? null : delays[due.attempts]!
        const failedForGood = yield* repository.settle(due, {
          delivered,
          retryInSeconds,
          responseStatus: outcome.status,
          responseMs,
          error: outcome.error,
          deliveredCount: outcome.delivered ?? 1
        })
        metrics.webhookDeliveries.inc({
          kind: due.kind,
          outcome: delivered ? "delivered" : retryInSeconds === null ? "gave_up" : "failed"
        })
        if (failedForGood) {
          yield* disable(
            due,
            `every delivery failed since ${due.messageCreatedAt.toISOString()} (last: ${outcome.error})`
          )
        }
      }).pipe(
        Effect.withSpan("Webhooks.deliver", {
          kind: "client",
          attributes: { "webhook.endpoint_id": due.endpointId, "webhook.event_type": due.eventType }
        }),
        // The claim's lease makes it due again: this delivery is retried, never lost.
        Effect.catchAllCause((cause) =>
          Effect.logError(
            "webhook delivery could not be attempted; it is due again when its claim expires",
            cause
          ).pipe(Effect.annotateLogs({ endpointId: due.endpointId, messageId: due.messageId }))
        )
      )

    // What this process has in flight, for the claim's caps: a hung endpoint holds at most its own slots.
    const inFlight = {
      total: 0,
      endpoints: new Map<string, number>(),
      organizations: new Map<string, number>()
    }
    const count = (map: Map<string, number>, key: string, delta: number) => {
      const n = (map.get(key) ?? 0) + delta
      if (n === 0) map.delete(key)
      else map.set(key, n)
    }
    const track = (due: DueDelivery, delta: number) => {
      inFlight.total += delta
      count(inFlight.endpoints, due.endpointId, delta)
      count(inFlight.organizations, due.organizationId, delta)
    }
    const finished = yield* Queue.sliding<void>(1)
    const running = yield* FiberSet.make()

    // Claims as slots free up (not in rounds that wait for their slowest request); each delivery runs on
    // its own and wakes the claimer when it ends.
    const claimMore = Effect.gen(function* () {
      const free = config.webhooks.concurrency - inFlight.total
      const due =
        free <= 0
          ? []
          : yield* repository.claimDue(free, leaseSeconds, {
              perEndpoint: config.webhooks.endpointConcurrency,
              perOrganization: config.webhooks.organizationConcurrency,
              endpointsInFlight: Object.fromEntries(inFlight.endpoints),
              organizationsInFlight: Object.fromEntries(inFlight.organizations)
            })
      for (const delivery of due) {
        track(delivery, 1)
        yield* FiberSet.run(
          running,
          attempt(delivery).pipe(
            Effect.ensuring(
              Effect.zipRight(
                Effect.sync(() => track(delivery, -1)),
                Queue.offer(finished, undefined)
              )
            )
          )
        )
      }
      if (due.length === 0) yield* Effect.timeoutOption(Queue.take(finished), config.webhooks.pollInterval)
    }).pipe(
      Effect.catchAllCause((cause) =>
        Effect.logError(
          "webhook dispatcher cannot read its deliveries (PostgreSQL?); it retries in 2 s",
          cause
        ).pipe(Effect.zipRight(Effect.sleep("2 seconds")))
      )
    )
    yield* Effect.forkScoped(Effect.forever(claimMore))
  })
).pipe(Layer.provide(WebhookRepository.Default))

/** The dispatcher with today's destinations, webhooks and chat. */
export const layer = deliver.pipe(Layer.provide(WebhookDestinations.layer))
