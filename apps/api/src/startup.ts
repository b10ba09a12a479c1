import { AppConfig, describeConfigError } from "@tapline/server"
import { Cause, ConfigError, Duration, Effect, Option } from "effect"

/**
 * The error's message, followed by its cause's when that says more: the server's ServeError wraps the listen
 * error, and a failed statement ("Failed to execute statement") says what PostgreSQL answered only in its cause.
 */
const messageOf = (error: unknown, depth = 0): string => {
  if (typeof error !== "object" || error === null) return String(error)
  const message = "message" in error && typeof error.message === "string" ? error.message : ""
  const cause = "cause" in error ? error.cause : undefined
  if (cause === undefined || depth > 3) return message.length > 0 ? message : String(error)
  const because = messageOf(cause, depth + 1)
  if (message.length === 0) return because
  return because.length === 0 || message.includes(because) ? message : `${message}: ${because}`
}

/**
 * One line on stderr and exit code 1: a wrong variable names itself, an unreachable dependency says where it
 * was looked for. Interruption (a signal) is a normal stop.
 */
export const reportStartupFailure = (cause: Cause.Cause<unknown>) =>
  Effect.sync(() => {
    if (Cause.isInterruptedOnly(cause)) return
    const failure = Option.getOrUndefined(Cause.failureOption(cause))
    const line = ConfigError.isConfigError(failure)
      ? describeConfigError(failure)
      : `Tapline failed to start: ${messageOf(failure ?? Cause.squash(cause))}`
    process.stderr.write(`${line}\n`)
    process.exitCode = 1
  })

/**
 * A stop signal closes the server and drains work through the layers' finalizers; if that takes longer than
 * SHUTDOWN_TIMEOUT the process exits anyway, so an orchestrator never waits forever.
 */
export const installForcedExit = () => {
  const timeout = Effect.runSync(
    AppConfig.pipe(
      Effect.provide(AppConfig.layer),
      Effect.map((config) => Duration.toMillis(config.server.shutdownTimeout)),
      Effect.orElseSucceed(() => 15_000)
    )
  )
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        process.stderr.write(`shutdown took longer than ${timeout} ms; exiting\n`)
        process.exit(1)
      }, timeout).unref()
    })
  }
}
