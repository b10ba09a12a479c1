import { Duration, Effect } from "effect"
import { retryAfterSeconds, withDeadline } from "../Email/HttpEmail.js"
import { outgoingTraceHeaders } from "../Telemetry/Tracing.js"
import { PushError, type PushFailure } from "./Push.js"

export { retryAfterSeconds }

/** A provider's answer, read whole within the deadline (a peer that stalls mid-body times out too). */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

/**
 * One HTTP/1.1 request of a push provider (Web Push, FCM's token exchange and send) with a deadline. A refused
 * connection or a timeout is transient. The error names the provider and what failed, never the request's
 * headers (they carry the credential).
 */
export const request = (
  provider: string,
  url: string,
  init: {
    readonly headers: Record<string, string>
    readonly body: string | Uint8Array
    /** Another fetch: Web Push's goes through the outbound policy (its endpoint is a stranger's URL). */
    readonly fetch?: typeof globalThis.fetch
  },
  timeout: Duration.DurationInput
): Effect.Effect<Answer, PushError> =>
  Effect.flatMap(outgoingTraceHeaders, (trace) =>
    Effect.tryPromise({
      try: (signal) =>
        withDeadline(signal, Duration.toMillis(timeout), async (deadline) => {
          const response = await (init.fetch ?? fetch)(url, {
            method: "POST",
            headers: { ...init.headers, ...trace },
            body: init.body,
            signal: deadline
          })
          return { status: response.status, headers: response.headers, body: await response.text() }
        }),
      catch: (cause) =>
        new PushError({
          provider,
          failure: "transient",
          message: `${provider} unreachable: ${(cause as Error).name === "TimeoutError" ? "timed out" : (cause as Error).message}`,
          cause
        })
    })
  )

/** A failed answer as a PushError: the status, the start of the provider's reason, its Retry-After if any. */
export const answerError = (
  provider: string,
  failure: PushFailure,
  answer: Answer,
  reason = answer.body,
  unauthorized = false
) => {
  const seconds = retryAfterSeconds(answer.headers.get("retry-after"))
  return new PushError({
    provider,
    failure,
    message: `${provider} answered ${answer.status}: ${reason.slice(0, 300)}`,
    ...(seconds === undefined ? {} : { retryAfterSeconds: seconds }),
    ...(unauthorized ? { unauthorized } : {})
  })
}

/** A span per send, as Email's providers have. */
export const span = (provider: string) =>
  Effect.withSpan("Push.send", { kind: "client", attributes: { "push.provider": provider } })

/** Four weeks: what Web Push (web-push's default TTL) and FCM keep an undelivered message; APNs is told the same. */
export const DEFAULT_TTL_SECONDS = 2_419_200

/** JWT parts: base64url of JSON. */
export const jwtPart = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
