import { Effect, Layer } from "effect"
import { groupOf, platformDestinations } from "../Brokers/BrokerConfig.js"
import * as Brokers from "../Brokers/providers.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import * as TapSink from "../Taps/TapSink.js"
import { Metrics } from "../Telemetry/Metrics.js"
import * as BrokerSink from "./BrokerSink.js"
import * as CloudEvents from "./CloudEvents.js"
import * as OrganizationSlugs from "./OrganizationSlugs.js"

/**
 * The platform's broker destinations (BROKER_DESTINATIONS): each one a tap sink with its own consumer group
 * (`broker-<name>`), publishing every organisation's taps as `tapline.tap.created` CloudEvents. They run where
 * the tap writer runs; none configured costs nothing.
 */
export const layer = Layer.unwrapScoped(
  Effect.gen(function* () {
    const destinations = yield* platformDestinations
    if (destinations.length === 0) return Layer.empty
    const metrics = yield* Metrics
    const config = yield* AppConfig
    const origin = publicOrigin(config)
    const organizations = yield* OrganizationSlugs.make
    const ca = config.brokerCa
    const sinks = yield* Effect.forEach(destinations, (destination) =>
      Effect.map(Brokers.publisher(destination.endpoint, { ca }), (broker) =>
        TapSink.layer(
          BrokerSink.make({
            name: groupOf(destination),
            broker,
            organizations: organizations.of,
            render: (tap, organization) => CloudEvents.tap(origin, organization, tap),
            metrics
          })
        )
      )
    )
    yield* Effect.logInfo("broker destinations publish every tap").pipe(
      Effect.annotateLogs({
        destinations: destinations.map((d) => `${d.name} (${d.endpoint.kind})`).join(", ")
      })
    )
    return Layer.mergeAll(...(sinks as [Layer.Layer<never>, ...Array<Layer.Layer<never>>]))
  })
)
