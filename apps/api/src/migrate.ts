import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { AppConfig, Database, Logging } from "@tapline/server"
import { Effect, Layer } from "effect"
import { reportStartupFailure } from "./startup.js"

/** `pnpm migrate`: apply pending migrations and create tap partitions, then exit. */
const program = Effect.gen(function* () {
  const applied = yield* Database.migrate
  const partitions = yield* Database.ensureTapPartitions
  yield* Effect.logInfo("database is up to date").pipe(
    Effect.annotateLogs({ applied: applied.map(([, name]) => name), partitionsCreated: partitions })
  )
})

program.pipe(
  Effect.provide(Database.layer.pipe(Layer.provide(Logging.layer), Layer.provideMerge(AppConfig.layer))),
  Effect.catchAllCause(reportStartupFailure),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
