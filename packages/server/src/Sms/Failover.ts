import { Effect } from "effect"
import { Sms, SmsError, type SmsShape } from "./Sms.js"
import { prepare } from "./SmsText.js"

/**
 * The ordered list SMS_PROVIDERS names, as one Sms: each message goes to the first provider, and on a transient
 * failure (5xx, timeout, rate limit, a refused credential) to the next. A permanent refusal stops the list:
 * another provider would refuse the same number. When every provider failed transiently the error is
 * transient, with the shortest Retry-After any of them asked for, and the journey sender tries again later.
 * An empty list (SMS_PROVIDERS unset) fails every message permanently: there is nobody to retry with.
 */
export const make = (
  providers: ReadonlyArray<SmsShape>,
  count: (provider: string, outcome: "sent" | "transient" | "permanent") => void = () => {}
): SmsShape => {
  const names = providers.map((p) => p.provider).join(",")
  const send: SmsShape["send"] = (message) =>
    Effect.gen(function* () {
      if (providers.length === 0) {
        return yield* new SmsError({
          provider: "",
          failure: "permanent",
          message: "no SMS provider is configured (SMS_PROVIDERS)"
        })
      }
      // A number that is not E.164 is refused once here, not counted against the first provider.
      yield* prepare(names, message)
      const failures: Array<SmsError> = []
      for (const provider of providers) {
        const result = yield* Effect.either(provider.send(message))
        count(provider.provider, result._tag === "Right" ? "sent" : result.left.failure)
        if (result._tag === "Right") {
          if (failures.length > 0) {
            yield* Effect.logInfo("sms sent by a later provider").pipe(
              Effect.annotateLogs({ provider: provider.provider, failed: failures.map((f) => f.provider) })
            )
          }
          return result.right
        }
        const error = result.left
        yield* Effect.logWarning("sms provider failed").pipe(
          Effect.annotateLogs({ provider: error.provider, failure: error.failure, error: error.message })
        )
        if (error.failure === "permanent") return yield* error
        failures.push(error)
      }
      const waits = failures.flatMap((f) => (f.retryAfterSeconds === undefined ? [] : [f.retryAfterSeconds]))
      return yield* new SmsError({
        provider: names,
        failure: "transient",
        message: failures.map((f) => f.message).join("; "),
        ...(waits.length === 0 ? {} : { retryAfterSeconds: Math.min(...waits) })
      })
    })
  return Sms.of({ provider: names, send })
}
