import { ServiceUnavailable } from "@tapline/domain"
import { Effect } from "effect"
import { Cache } from "../Cache/Cache.js"
import { AppConfig } from "../Config/AppConfig.js"
import { checkReady } from "../Database/Database.js"
import { Warming } from "../ReadModel/Warming.js"
import * as Redis from "../Redis/Redis.js"
import { TapRecorder } from "../Taps/TapRecorder.js"
import { TapSinkStatuses } from "../Taps/TapSinkStatus.js"
import { TapWriterStatus } from "../Taps/TapWriterStatus.js"
import { Draining } from "./Draining.js"

type CheckStatus = "ok" | "failing" | "not_configured"

/** A dependency that does not answer within two seconds counts as failing; the cause goes to the log only. */
const probe = <E, R>(name: string, check: Effect.Effect<boolean, E, R>) =>
  check.pipe(
    Effect.timeout("2 seconds"),
    Effect.map((ok): CheckStatus => (ok ? "ok" : "failing")),
    Effect.catchAllCause((cause) =>
      Effect.logWarning("readiness check failed").pipe(
        Effect.annotateLogs({ check: name }),
        Effect.zipRight(Effect.logDebug(cause)),
        Effect.as<CheckStatus>("failing")
      )
    )
  )

/**
 * Ready when PostgreSQL, Redis (when configured), this process's tap writer (when it runs one) and its tap
 * journal (when it has one) work, what the redirect reads is loaded (Warming), and the process is not stopping.
 */
export const readiness = Effect.gen(function* () {
  // Stopping: out of rotation at once, without waiting on probes (requests are still served meanwhile).
  if ((yield* Draining).active()) return yield* new ServiceUnavailable({ checks: { shutdown: "draining" } })
  const config = yield* AppConfig
  const cache = yield* Cache
  const [database, redis] = yield* Effect.all(
    [
      probe("database", checkReady),
      Redis.isConfigured(config.redis)
        ? probe("redis", Effect.as(cache.ping, true))
        : Effect.succeed<CheckStatus>("not_configured")
    ],
    { concurrency: "unbounded" }
  )
  // A writer whose batches fail cannot store taps: the stream grows until someone is told.
  const writerState = (yield* TapWriterStatus).state()
  const writer: CheckStatus = writerState === "not_running" ? "not_configured" : writerState
  // A journal that cannot write (a full disk) keeps taps in memory only: traffic should go elsewhere.
  const journalState = (yield* TapRecorder).stats().journal
  const journal: CheckStatus = journalState === "none" ? "not_configured" : journalState
  // Listed only while loading: a ready process's checks stay the four above.
  const warming = Object.fromEntries((yield* Warming).pending().map((what) => [what, "warming" as const]))
  // Listed while sinks run here, and never what makes the process unready (TapSinkStatus.ts).
  const sinks = (yield* TapSinkStatuses).all()
  const sinkChecks = Object.fromEntries(
    sinks.map((sink): [string, CheckStatus] => [
      `sink:${sink.name}`,
      sink.state === "not_running" ? "not_configured" : sink.state
    ])
  )
  const checks = { database, redis, writer, journal, ...sinkChecks, ...warming }
  if (Object.keys(warming).length > 0) return yield* new ServiceUnavailable({ checks })
  if (database === "failing" || redis === "failing" || writer === "failing" || journal === "failing") {
    return yield* new ServiceUnavailable({ checks })
  }
  return { status: "ready" as const, checks }
})

export const liveness = Effect.succeed({ status: "live" as const })
