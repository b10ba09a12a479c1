import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import {
  AppConfig,
  Audit,
  Backends,
  Database,
  DemoSeed,
  HotPath,
  HttpApp,
  JobsLive,
  JobWorkers,
  Logging,
  Projector,
  RateLimits,
  ReadModelFresh,
  RedirectStore,
  TapStore,
  TapWriter,
  Tracing
} from "@tapline/server"
import { Effect, Layer } from "effect"
import { installForcedExit, reportStartupFailure } from "./startup.js"

/*
 * Every layer of the running server, composed in one place. Read bottom-up: configuration and telemetry;
 * the database (external or embedded, migrated); the Redis-or-memory backends; demo data; the read model
 * brought up to date; then the roles: the tap writer, the background job workers (JOBS_ENABLED) and the HTTP
 * server with the hot path in front.
 */
const DatabaseLive = Database.layerMigrated.pipe(Layer.provideMerge(Database.layer))

const Infrastructure = Layer.mergeAll(
  DatabaseLive,
  Backends.layerFromConfig,
  JobsLive.layerFromConfig.pipe(Layer.provide(DatabaseLive))
)

const ReadModelLive = ReadModelFresh.pipe(
  Layer.provideMerge(DemoSeed.layer),
  Layer.provideMerge(Projector.Default)
)

const HotPathLive = HotPath.layer.pipe(Layer.provide([RedirectStore.layer, RateLimits.layer]))

const WriterLive = TapWriter.layer.pipe(Layer.provide(TapStore.Default))

const JobWorkersLive = JobWorkers.layer.pipe(Layer.provide(Audit.Default))

/** TAPLINE_ROLE: `all` (default) serves and writes; `api` only serves; `worker` only writes taps. */
const Roles = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ taps }) => {
    // The bound server stays visible (provideMerge) for the banner that follows it.
    const http = DemoSeed.banner.pipe(
      Layer.provideMerge(HttpApp.HttpAppLive),
      Layer.provideMerge(HttpApp.NodeServerLive)
    )
    switch (taps.role) {
      case "worker":
        return Layer.mergeAll(WriterLive, JobWorkersLive, http)
      case "api":
        return Layer.merge(JobWorkersLive, http.pipe(Layer.provide(HotPathLive)))
      case "all":
        return Layer.mergeAll(WriterLive, JobWorkersLive, http.pipe(Layer.provide(HotPathLive)))
    }
  })
)

const AppLive = Roles.pipe(
  Layer.provideMerge(ReadModelLive),
  Layer.provideMerge(Infrastructure),
  Layer.provide(Tracing.layer),
  Layer.provide(Logging.layer),
  Layer.provideMerge(AppConfig.layer)
)

installForcedExit()

Layer.launch(AppLive).pipe(
  Effect.catchAllCause(reportStartupFailure),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
