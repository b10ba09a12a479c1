import { Effect } from "effect"
import type { BrokerMessage, BrokerShape } from "../Brokers/Broker.js"
import type { TapRecord } from "../Taps/TapRecord.js"
import type { TapSink } from "../Taps/TapSink.js"
import type { MetricsShape } from "../Telemetry/Metrics.js"
import type { Organization } from "./OrganizationSlugs.js"

export interface BrokerSinkOptions {
  /** The consumer group: stable (a new name starts from what the stream still holds). */
  readonly name: string
  readonly broker: BrokerShape
  /** The organisation of each tap (OrganizationSlugs), undefined for one nobody knows. */
  readonly organizations: (
    taps: ReadonlyArray<TapRecord>
  ) => Effect.Effect<ReadonlyArray<Organization | undefined>, unknown>
  /** A tap as a `tapline.tap.created` CloudEvent (CloudEvents.ts). */
  readonly render: (tap: TapRecord, organization: Organization) => BrokerMessage
  readonly metrics: MetricsShape
}

/**
 * A broker as a tap sink: every tap of the batch, one CloudEvent each, published in the batch's order (so a
 * band's taps keep theirs). The batch is acknowledged only once the broker acknowledged every message; a
 * failed publish fails the batch, which the sink's loop retries whole with backoff while the taps wait in
 * the stream (and the PostgreSQL writer, in its own group, goes on). A retried or reclaimed batch publishes
 * its messages again: NATS drops them by id (counted as `tapline_broker_messages_total{outcome="duplicate"}`),
 * Kafka and RabbitMQ consumers see them twice, with the same CloudEvent id to drop them by.
 */
export const make = (options: BrokerSinkOptions): TapSink => {
  const { broker, metrics } = options
  const count = (outcome: string, n: number) => {
    if (n > 0) metrics.brokerMessages.inc({ kind: broker.kind, outcome }, n)
  }
  return {
    name: options.name,
    handle: (delivery) =>
      Effect.gen(function* () {
        const organizations = yield* options.organizations(delivery.taps)
        const messages: Array<BrokerMessage> = []
        let unknown = 0
        delivery.taps.forEach((tap, n) => {
          const organization = organizations[n]
          if (organization === undefined) unknown += 1
          else messages.push(options.render(tap, organization))
        })
        if (unknown > 0) {
          // The writer refuses these too (TapStore.attribute): no organisation, nobody to route them to.
          yield* Effect.logWarning("tap sink skipped taps of an unknown organisation").pipe(
            Effect.annotateLogs({ sink: options.name, taps: unknown })
          )
        }
        if (messages.length === 0) return
        const report = yield* broker
          .publish(messages)
          .pipe(Effect.tapError(() => Effect.sync(() => count("failed", messages.length))))
        count("published", messages.length - report.duplicates)
        count("duplicate", report.duplicates)
      }).pipe(Effect.withSpan("BrokerSink.publish", { attributes: { "sink.name": options.name } }))
  }
}
