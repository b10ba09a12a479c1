import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Runtime } from "@tapline/server"
import { Effect, Layer } from "effect"
import { installForcedExit, reportStartupFailure } from "./startup.js"

/* The server process: the layers of TAPLINE_ROLE, composed in packages/server/src/Runtime.ts. */

installForcedExit()

Layer.launch(Runtime.main).pipe(
  Effect.catchAllCause(reportStartupFailure),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
