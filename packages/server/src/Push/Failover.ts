import { Effect } from "effect"
import { Push, PushError, type PushFailure, type PushShape } from "./Push.js"

/**
 * The ordered list PUSH_PROVIDERS names, as one Push. A subscription belongs to one kind, so a message goes
 * to the providers that deliver to its kind, in order: the first, and on a transient failure (5xx, timeout,
 * 429, a rejected credential) the next. `gone` and `permanent` stop the list: another provider would find the
 * same subscription expired or refuse the same message. No provider for the kind (or none at all) is
 * permanent: retrying changes nothing until the operator configures one.
 */
/** What tapline_push_total counts per attempt: the failure, or `unauthorized` when it was the account's. */
export type PushOutcome = "sent" | PushFailure | "unauthorized"

export const make = (
  providers: ReadonlyArray<PushShape>,
  count: (provider: string, outcome: PushOutcome) => void = () => {}
): PushShape => {
  const name = providers.map((p) => p.provider).join(",")
  const send: PushShape["send"] = (message) =>
    Effect.gen(function* () {
      const kind = message.subscription.kind
      const eligible = providers.filter((p) => p.kinds.includes(kind))
      if (eligible.length === 0) {
        return yield* new PushError({
          provider: name,
          failure: "permanent",
          message:
            providers.length === 0
              ? "no push provider is configured"
              : `no configured push provider (${name}) delivers to ${kind} subscriptions`
        })
      }
      const failures: Array<PushError> = []
      for (const provider of eligible) {
        const result = yield* Effect.either(provider.send(message))
        count(
          provider.provider,
          result._tag === "Right"
            ? "sent"
            : result.left.unauthorized === true
              ? "unauthorized"
              : result.left.failure
        )
        if (result._tag === "Right") {
          if (failures.length > 0) {
            yield* Effect.logInfo("push sent by a later provider").pipe(
              Effect.annotateLogs({ provider: provider.provider, failed: failures.map((f) => f.provider) })
            )
          }
          return result.right
        }
        const error = result.left
        yield* Effect.logWarning(
          error.unauthorized === true
            ? "push provider refused our credentials: the account, not the device; fix its key, messages wait"
            : "push provider failed"
        ).pipe(
          Effect.annotateLogs({ provider: error.provider, failure: error.failure, error: error.message })
        )
        if (error.failure !== "transient") return yield* error
        failures.push(error)
      }
      const waits = failures.flatMap((f) => (f.retryAfterSeconds === undefined ? [] : [f.retryAfterSeconds]))
      return yield* new PushError({
        provider: eligible.map((p) => p.provider).join(","),
        failure: "transient",
        message: failures.map((f) => f.message).join("; "),
        ...(waits.length === 0 ? {} : { retryAfterSeconds: Math.min(...waits) }),
        ...(failures.every((f) => f.unauthorized === true) ? { unauthorized: true } : {})
      })
    })
  const kinds = [...new Set(providers.flatMap((p) => p.kinds))]
  return Push.of({ provider: name, kinds, send })
}
