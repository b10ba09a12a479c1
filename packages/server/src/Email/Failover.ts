import { Effect } from "effect"
import { Email, EmailError, type EmailShape } from "./Email.js"

/**
 * The ordered list EMAIL_PROVIDERS names, as one Email: each message goes to the first provider, and on a
 * transient failure (5xx, timeout, rate limit) to the next. A permanent refusal stops the list: another
 * provider would refuse the same address. When every provider failed transiently, the error is transient
 * and the job queue tries the whole list again later.
 */
export const make = (
  providers: ReadonlyArray<EmailShape>,
  count: (provider: string, outcome: "sent" | "transient" | "permanent") => void = () => {}
): EmailShape => {
  const send: EmailShape["send"] = (message) =>
    Effect.gen(function* () {
      const failures: Array<EmailError> = []
      for (const provider of providers) {
        const result = yield* Effect.either(provider.send(message))
        count(provider.provider, result._tag === "Right" ? "sent" : result.left.failure)
        if (result._tag === "Right") {
          if (failures.length > 0) {
            yield* Effect.logInfo("email sent by a later provider").pipe(
              Effect.annotateLogs({ provider: provider.provider, failed: failures.map((f) => f.provider) })
            )
          }
          return
        }
        const error = result.left
        yield* Effect.logWarning("email provider failed").pipe(
          Effect.annotateLogs({ provider: error.provider, failure: error.failure, error: error.message })
        )
        if (error.failure === "permanent") return yield* error
        failures.push(error)
      }
      const waits = failures.flatMap((f) => (f.retryAfterSeconds === undefined ? [] : [f.retryAfterSeconds]))
      return yield* new EmailError({
        provider: providers.map((p) => p.provider).join(","),
        failure: "transient",
        message: failures.map((f) => f.message).join("; "),
        ...(waits.length === 0 ? {} : { retryAfterSeconds: Math.min(...waits) })
      })
    })
  return Email.of({ provider: providers.map((p) => p.provider).join(","), send })
}
