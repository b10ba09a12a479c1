import { Duration, Effect } from "effect"
import { retryAfterSeconds, withDeadline } from "../Email/HttpEmail.js"
import { outgoingTraceHeaders } from "../Telemetry/Tracing.js"
import { SmsError } from "./Sms.js"

/** What an HTTP SMS provider is asked: one form-encoded POST, built by the provider's own module. */
export interface ProviderRequest {
  readonly url: string
  readonly headers: Record<string, string>
  readonly form: Record<string, string>
}

/** The provider's answer, read whole: its status, its Retry-After and its body (JSON, or null). */
export interface ProviderAnswer {
  readonly status: number
  readonly retryAfterSeconds: number | undefined
  readonly text: string
  readonly json: unknown
}

export const basicAuth = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`

/** An error for a provider's non-2xx answer: its status, code and the start of its words, never the request. */
export const errorOf = (
  provider: string,
  answer: ProviderAnswer,
  failure: "transient" | "permanent",
  detail = answer.text
) =>
  new SmsError({
    provider,
    failure,
    message: `${provider} answered ${answer.status}: ${detail.slice(0, 300)}`,
    ...(answer.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: answer.retryAfterSeconds })
  })

/**
 * POSTs a provider's form with a deadline and reads the whole answer, whatever its status: the provider's
 * module decides what it means. Unreachable, refused or too slow is transient. The error never carries the
 * request's headers (they carry the credential).
 */
export const post = (provider: string, request: ProviderRequest, timeout: Duration.DurationInput) =>
  Effect.flatMap(outgoingTraceHeaders, (trace) =>
    Effect.tryPromise({
      try: (signal) =>
        withDeadline(signal, Duration.toMillis(timeout), async (deadline) => {
          const response = await fetch(request.url, {
            method: "POST",
            headers: {
              ...request.headers,
              ...trace,
              "content-type": "application/x-www-form-urlencoded"
            },
            body: new URLSearchParams(request.form).toString(),
            signal: deadline
          })
          // Read within the deadline too: a peer that sends its headers and stalls is as slow as one that does not answer.
          const text = await response.text()
          return {
            status: response.status,
            retryAfterSeconds: retryAfterSeconds(response.headers.get("retry-after")),
            text,
            json: parseJson(text)
          } satisfies ProviderAnswer
        }),
      catch: (cause) =>
        new SmsError({
          provider,
          failure: "transient",
          message: `${provider} unreachable: ${reason(cause as Error)}`,
          cause
        })
    })
  ).pipe(Effect.withSpan("Sms.send", { kind: "client", attributes: { "sms.provider": provider } }))

const reason = (error: Error) => (error.name === "TimeoutError" ? "timed out" : error.message)

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
