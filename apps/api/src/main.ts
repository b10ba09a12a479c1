import { NodeRuntime } from "@effect/platform-node"
import {
  AppConfig,
  layerFromConfig as CacheLive,
  Database,
  DemoSeed,
  HttpApp,
  Logging,
  Tracing
} from "@tapline/server"
import { Effect, Layer } from "effect"
import { installForcedExit, reportStartupFailure } from "./startup.js"

/*
 * Every layer of the running server, composed in one place. Read bottom-up: configuration, then the
 * database (external or embedded, migrated), the cache (Redis or memory), demo data, and the HTTP server.
 */
const DatabaseLive = Database.layerMigrated.pipe(Layer.provideMerge(Database.layer))

const Infrastructure = Layer.mergeAll(DatabaseLive, CacheLive)

const HttpLive = HttpApp.HttpAppLive.pipe(Layer.provide(HttpApp.NodeServerLive))

const AppLive = HttpLive.pipe(
  Layer.provide(DemoSeed.layer),
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
