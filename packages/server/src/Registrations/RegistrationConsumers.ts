import { Duration, Effect, FiberMap, Layer, Schedule } from "effect"
import type { Dial, HostVetting } from "../Brokers/Broker.js"
import { type BrokerEndpoint, parseBrokerUrl } from "../Brokers/BrokerConfig.js"
import * as Brokers from "../Brokers/providers.js"
import { AppConfig } from "../Config/AppConfig.js"
import { SecretBox } from "../Crypto/SecretBox.js"
import * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import { vettingResolver } from "../Streams/BrokerDestination.js"
import { Intake, type SourceScope } from "./Intake.js"
import { platformSources, refreshEvery, routes } from "./RegistrationConfig.js"
import { RegistrationRepository, type SourceRow } from "./RegistrationRepository.js"
import { sealedUrlData } from "./RegistrationSources.js"

/*
 * The consumers of every enabled registration source, where the jobs run: one fiber per source, each a
 * broker consumer whose handler is the Intake. Platform sources start once; organisations' sources are read
 * again every REGISTRATION_SOURCES_REFRESH, so one created, changed, disabled or removed starts or stops
 * within that time. A source whose broker fails is started again with a backoff; the others go on.
 */

/** How a source's consumer connects: a tenant's vetted (`dial`, Kafka's `vetting`); BROKER_CA_FILE's `ca`. */
export interface Connecting {
  readonly dial?: Dial | undefined
  readonly vetting?: HostVetting | undefined
  readonly ca?: string | undefined
}

/** One source consuming until interrupted; a broker failure starts it again, waiting up to a minute. */
export const run = (
  endpoint: BrokerEndpoint,
  scope: SourceScope,
  consumerName: string,
  connecting?: Connecting
) =>
  Effect.gen(function* () {
    const intake = yield* Intake
    const broker = yield* Brokers.consumer(endpoint, { ...routes(consumerName), ...connecting })
    yield* broker.consume(intake.handle(scope))
    return yield* Effect.never
  }).pipe(
    Effect.scoped,
    Effect.tapErrorCause((cause) =>
      Effect.logWarning("a registration source's consumer stopped; it starts again", cause).pipe(
        Effect.annotateLogs({ source: scope.key })
      )
    ),
    Effect.retry(Schedule.exponential("1 second").pipe(Schedule.union(Schedule.spaced("1 minute")))),
    Effect.annotateLogs({ source: scope.key })
  )

/** A tenant's source reaches only hosts the outbound policy allows, connecting to the vetted address. */
export const vettedDial =
  (policy: OutboundPolicy.OutboundPolicy): Dial =>
  async (host, port) => {
    const [first] = await policy.resolve(host)
    return { address: first!.address, port, servername: host }
  }

export const layer = Layer.scopedDiscard(
  Effect.gen(function* () {
    const platform = yield* platformSources
    const every = yield* refreshEvery
    const repository = yield* RegistrationRepository
    const secrets = yield* SecretBox
    const config = yield* AppConfig
    const policy = OutboundPolicy.make(config.outbound.allow)
    // Kafka resolves every host itself (bootstrap and advertised): it takes the resolver, the others the dial.
    const tenant: Connecting = {
      dial: vettedDial(policy),
      vetting: vettingResolver(policy),
      ca: config.brokerCa
    }
    const fibers = yield* FiberMap.make<string>()

    for (const source of platform) {
      const scope: SourceScope = {
        key: `platform:${source.name}`,
        allows: (owner) =>
          source.organizations.has(owner.slug) || source.organizations.has(owner.organizationId)
      }
      yield* FiberMap.run(
        fibers,
        scope.key,
        run(source.endpoint, scope, source.name, { ca: config.brokerCa })
      )
    }

    // Each organisation's source by its row's version: a changed URL or a re-enable restarts it.
    const running = new Map<string, number>()
    const start = (row: SourceRow) =>
      Effect.gen(function* () {
        const url = yield* secrets.decrypt(row.urlSealed, sealedUrlData(row.organizationId))
        const endpoint = parseBrokerUrl(url)
        if (endpoint._tag === "Left") {
          yield* Effect.logWarning("a registration source's URL is refused")
          return false
        }
        const scope: SourceScope = {
          key: `source:${row.id}`,
          allows: (owner) => owner.organizationId === row.organizationId
        }
        yield* FiberMap.run(fibers, row.id, run(endpoint.right, scope, row.id, tenant))
        return true
      }).pipe(
        // One source that does not open (its key is gone) does not keep the others from starting.
        Effect.catchAll((error) =>
          Effect.as(Effect.logWarning("a registration source's URL does not open", error.message), false)
        ),
        Effect.annotateLogs({ source: `source:${row.id}` })
      )

    const refresh = Effect.gen(function* () {
      const rows = yield* repository.enabled
      const seen = new Set<string>()
      for (const row of rows) {
        seen.add(row.id)
        if (running.get(row.id) === row.updatedAt.getTime()) continue
        // Remembered once started: a URL that does not open (a key missing) is tried again next time.
        if (yield* start(row)) running.set(row.id, row.updatedAt.getTime())
      }
      for (const id of running.keys()) {
        if (seen.has(id)) continue
        running.delete(id)
        yield* FiberMap.remove(fibers, id)
      }
    }).pipe(
      Effect.catchAllCause((cause) =>
        Effect.logWarning("registration sources were not read; next time", cause)
      )
    )

    yield* Effect.forkScoped(Effect.repeat(refresh, Schedule.spaced(Duration.decode(every))))
  })
).pipe(Layer.provide([Intake.Default, RegistrationRepository.Default]))
