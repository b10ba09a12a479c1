import * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type { AiProviderName } from "@tapline/domain"
import { Cause, Context, Data, Duration, Effect, ExecutionPlan, Layer, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { AiProviderModel } from "./AiProvider.js"

/*
 * The providers in AI_PROVIDERS order as one ExecutionPlan: each step provides one provider's LanguageModel.
 * A timeout, a 429, a 5xx, a connection refused, an answer that cannot be read, or a rejected key (401/403)
 * moves to the next provider; a refusal or an invalid request (any other 4xx) does not: another provider would
 * be asked the same thing. A rejected key is the account's trouble, not the request's, as for Email's
 * providers: one expired key must not take the feature down while another provider is configured.
 */

/** Why one provider's attempt failed: the metric's `outcome`, and what the error names. */
export type FailureReason =
  | "timeout"
  | "rate_limited"
  | "unavailable"
  | "unauthorized"
  | "malformed"
  | "refused"
  | "invalid_request"
  | "tool_failed"
  | "tool_loop"

/** Reasons that move to the next provider. */
const MOVES_ON: ReadonlySet<FailureReason> = new Set([
  "timeout",
  "rate_limited",
  "unavailable",
  "unauthorized",
  "malformed"
])

/** One provider's failed attempt. Its message names the provider and the status, never a header or a key. */
export class AiAttemptFailed extends Data.TaggedError("AiAttemptFailed")<{
  readonly provider: AiProviderName
  readonly model: string
  readonly reason: FailureReason
  readonly status?: number
  readonly message: string
}> {}

/** Every provider tried failed, or one refused (no fallback): each attempt, in order. */
export class AiGenerationFailed extends Data.TaggedError("AiGenerationFailed")<{
  readonly attempts: ReadonlyArray<AiAttemptFailed>
  readonly message: string
}> {}

export const movesOn = (failure: AiAttemptFailed): boolean => MOVES_ON.has(failure.reason)

/** The provider the current step of the plan runs on. */
export class CurrentProvider extends Context.Tag("@tapline/server/Ai/CurrentProvider")<
  CurrentProvider,
  AiProviderModel
>() {}

const failed = (
  provider: AiProviderModel,
  reason: FailureReason,
  detail: string,
  status?: number
): AiAttemptFailed =>
  new AiAttemptFailed({
    provider: provider.provider,
    model: provider.model,
    reason,
    ...(status === undefined ? {} : { status }),
    message: `${provider.provider}: ${detail}`
  })

/** A provider's error as a reason; the AiError itself (it carries the request) goes no further. */
export const classify = (provider: AiProviderModel, error: unknown): AiAttemptFailed => {
  if (error instanceof AiAttemptFailed) return error
  if (Cause.isTimeoutException(error)) return failed(provider, "timeout", "no answer in time")
  // Anything else that is not the provider's (a tool's handler failing) is ours: no other provider would help.
  if (!isAiError(error)) return failed(provider, "tool_failed", "a tool failed")
  switch (error._tag) {
    case "HttpRequestError":
      return failed(provider, "unavailable", `request failed (${error.reason})`)
    case "HttpResponseError": {
      const status = error.response.status
      if (error.reason !== "StatusCode")
        return failed(provider, "malformed", `unreadable answer (${error.reason})`, status)
      if (status === 429) return failed(provider, "rate_limited", "429 rate limited", status)
      if (status === 408 || status >= 500) return failed(provider, "unavailable", `${status}`, status)
      if (status === 401 || status === 403)
        return failed(provider, "unauthorized", `${status} the key was refused`, status)
      return failed(provider, "invalid_request", `${status} refused the request`, status)
    }
    case "MalformedOutput":
      return failed(provider, "malformed", "unreadable answer")
    case "MalformedInput":
      return failed(provider, "invalid_request", "invalid request")
    case "UnknownError":
      return failed(provider, "unavailable", "unknown error")
  }
}

const isAiError = (error: unknown): error is AiError.AiError => AiError.isAiError(error)

/** A stream that went quiet for longer than AI_TIMEOUT. */
export const timedOut = (provider: AiProviderModel) => failed(provider, "timeout", "no answer in time")

/** A refusal is an answer, not an error, on the wire: made one here, so it stops the plan. */
export const refused = (provider: AiProviderModel) => failed(provider, "refused", "the model refused")

/** The step of one provider: its LanguageModel on a fetch client, and itself as CurrentProvider. */
const stepLayer = (provider: AiProviderModel) =>
  Layer.merge(provider.layer, Layer.succeed(CurrentProvider, provider)).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

const planOf = (providers: NonEmptyReadonlyArray<AiProviderModel>) => {
  const steps = providers.map((provider, index) => ({
    provide: stepLayer(provider),
    attempts: 1,
    ...(index === 0 ? {} : { while: (failure: AiAttemptFailed) => movesOn(failure) })
  }))
  return ExecutionPlan.make(...(steps as unknown as [(typeof steps)[number]]))
}

export interface Attempts {
  /** Called once per attempt, when it ends: the metric and the log. */
  readonly onAttempt: (provider: AiProviderModel, outcome: "success" | FailureReason) => Effect.Effect<void>
}

const summary = (attempts: ReadonlyArray<AiAttemptFailed>) =>
  new AiGenerationFailed({ attempts, message: attempts.map((a) => a.message).join("; ") })

/**
 * Runs `body` on the first provider, then on the next while the failure moves on. `timeout` bounds each model
 * call (`body` applies it with `withTimeout`), not the whole plan.
 */
export const run = <A, R>(
  providers: NonEmptyReadonlyArray<AiProviderModel>,
  hooks: Attempts,
  body: (provider: AiProviderModel) => Effect.Effect<A, unknown, R>
): Effect.Effect<A, AiGenerationFailed, Exclude<R, LanguageModel.LanguageModel | CurrentProvider>> =>
  Effect.suspend(() => {
    const attempts: Array<AiAttemptFailed> = []
    const attempt = Effect.flatMap(CurrentProvider, (provider) =>
      body(provider).pipe(
        Effect.mapError((error) => classify(provider, error)),
        Effect.tapBoth({
          onFailure: (failure) =>
            Effect.zipRight(
              Effect.sync(() => attempts.push(failure)),
              hooks.onAttempt(provider, failure.reason)
            ),
          onSuccess: () => hooks.onAttempt(provider, "success")
        })
      )
    )
    return attempt.pipe(
      Effect.withExecutionPlan(planOf(providers)),
      Effect.catchAll(() => Effect.fail(summary(attempts)))
    ) as Effect.Effect<A, AiGenerationFailed, Exclude<R, LanguageModel.LanguageModel | CurrentProvider>>
  })

/**
 * The same plan for a stream: a provider that fails before its first part hands over to the next; once text
 * has reached the caller, a failure ends the stream (the caller would otherwise see two answers spliced).
 */
export const stream = <A, R>(
  providers: NonEmptyReadonlyArray<AiProviderModel>,
  hooks: Attempts,
  body: (provider: AiProviderModel) => Stream.Stream<A, unknown, R>
): Stream.Stream<A, AiGenerationFailed, Exclude<R, LanguageModel.LanguageModel | CurrentProvider>> =>
  Stream.suspend(() => {
    const attempts: Array<AiAttemptFailed> = []
    const attempt = Stream.unwrap(
      Effect.map(CurrentProvider, (provider) =>
        body(provider).pipe(
          Stream.mapError((error) => classify(provider, error)),
          Stream.tapError((failure) =>
            Effect.zipRight(
              Effect.sync(() => attempts.push(failure)),
              hooks.onAttempt(provider, failure.reason)
            )
          ),
          Stream.concat(Stream.fromEffect(hooks.onAttempt(provider, "success")).pipe(Stream.drain))
        )
      )
    )
    return attempt.pipe(
      Stream.withExecutionPlan(planOf(providers), { preventFallbackOnPartialStream: true }),
      Stream.catchAll(() => Stream.fail(summary(attempts)))
    ) as Stream.Stream<A, AiGenerationFailed, Exclude<R, LanguageModel.LanguageModel | CurrentProvider>>
  })

/** One model call's deadline: AI_TIMEOUT, per provider and per call of a tool loop. */
export const withTimeout =
  (timeout: Duration.DurationInput) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | Cause.TimeoutException, R> =>
    Effect.timeout(effect, Duration.decode(timeout))
