import { Duration, Effect } from "effect"
import { outgoingTraceHeaders } from "../Telemetry/Tracing.js"
import { EmailError } from "./Email.js"

/** What an HTTP email provider is asked: one request, built by the provider's own module. */
export interface ProviderRequest {
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
}

/**
 * How a provider's HTTP answer is read: 2xx sent; 429 (with its Retry-After), 408 and 5xx are transient;
 * 401/403 (a wrong or revoked key) is transient too, so the next provider carries the message and a retry
 * after the operator's fix does; any other 4xx is the provider refusing this message: permanent.
 */
export const failureOf = (status: number): "transient" | "permanent" =>
  status === 429 || status === 408 || status === 401 || status === 403 || status >= 500
    ? "transient"
    : "permanent"

/** Retry-After in seconds, from either of its forms (seconds, or an HTTP date). */
export const retryAfterSeconds = (header: string | null): number | undefined => {
  if (header === null) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000))
}

/**
 * An AWS SDK v3 error (SES, SNS) as a provider failure: its HTTP status decides as for any provider, except that
 * `transientNames` (errors naming the account or the moment, not the message) and no answer at all are
 * transient. The message names the service, the status and the error, cut to 300 characters.
 */
export const awsSdkFailure = (service: string, cause: unknown, transientNames: ReadonlySet<string>) => {
  const error = cause as {
    name?: string
    message?: string
    $metadata?: { httpStatusCode?: number }
    $response?: { headers?: Record<string, string | undefined> }
  }
  const status = error.$metadata?.httpStatusCode
  const retryAfter = retryAfterSeconds(error.$response?.headers?.["retry-after"] ?? null)
  return {
    failure:
      status === undefined || transientNames.has(error.name ?? "")
        ? ("transient" as const)
        : failureOf(status),
    message: `${service} ${status ?? "unreachable"} ${error.name ?? ""}: ${(error.message ?? "").slice(0, 300)}`,
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter })
  }
}

/**
 * POSTs a provider's request with a deadline. The error names the provider, the status and the start of
 * the provider's answer (which says why), never the request's headers (they carry the key).
 */
export const post = (provider: string, request: ProviderRequest, timeout: Duration.DurationInput) =>
  Effect.flatMap(outgoingTraceHeaders, (trace) =>
    send(provider, { ...request, headers: { ...request.headers, ...trace } }, timeout)
  ).pipe(Effect.withSpan("Email.send", { kind: "client", attributes: { "email.provider": provider } }))

/**
 * Runs `f` with a signal that aborts when `signal` does or `ms` pass, whichever is first. Not
 * `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: on Node 20 the timeout signal inside it can be garbage
 * collected before it fires (nodejs/node#57736), and a stalled provider then held the send for good (the hogged
 * CI caught it: a 400 ms deadline still waiting after 30 s).
 */
export const withDeadline = <A>(
  signal: AbortSignal,
  ms: number,
  f: (signal: AbortSignal) => Promise<A>
): Promise<A> => {
  const controller = new AbortController()
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${ms} ms`, "TimeoutError")),
    ms
  )
  const onAbort = () => controller.abort(signal.reason)
  signal.addEventListener("abort", onAbort, { once: true })
  return f(controller.signal).finally(() => {
    clearTimeout(timer)
    signal.removeEventListener("abort", onAbort)
  })
}

const send = (provider: string, request: ProviderRequest, timeout: Duration.DurationInput) =>
  Effect.tryPromise({
    try: (signal) =>
      withDeadline(signal, Duration.toMillis(timeout), (deadline) =>
        fetch(request.url, {
          method: "POST",
          headers: request.headers,
          body: request.body,
          signal: deadline
        })
      ),
    catch: (cause) =>
      new EmailError({
        provider,
        failure: "transient",
        message: `${provider} unreachable: ${(cause as Error).name === "TimeoutError" ? "timed out" : (cause as Error).message}`,
        cause
      })
  }).pipe(
    Effect.flatMap((response) =>
      response.ok
        ? Effect.promise(() => response.arrayBuffer()).pipe(Effect.asVoid)
        : Effect.flatMap(
            Effect.promise(() => response.text().catch(() => "")),
            (detail) => {
              const seconds = retryAfterSeconds(response.headers.get("retry-after"))
              return Effect.fail(
                new EmailError({
                  provider,
                  failure: failureOf(response.status),
                  message: `${provider} answered ${response.status}: ${detail.slice(0, 300)}`,
                  ...(seconds === undefined ? {} : { retryAfterSeconds: seconds })
                })
              )
            }
          )
    )
  )
