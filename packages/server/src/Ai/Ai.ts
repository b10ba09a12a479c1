import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import type * as Toolkit from "@effect/ai/Toolkit"
import { type AiProviderName, AiUnavailable } from "@tapline/domain"
import { Array as Arr, Context, Effect, Layer, Option, Stream } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Metrics, type MetricsShape } from "../Telemetry/Metrics.js"
import type { AiSettings } from "./AiConfig.js"
import type { AiProviderModel } from "./AiProvider.js"
import * as Fallback from "./Fallback.js"
import { AiModels, layerConfig as modelsFromConfig } from "./providers.js"

export { AiAttemptFailed, AiGenerationFailed } from "./Fallback.js"

/** What is asked of a model: the prompt and the tools it may call. */
export interface AiRequest {
  readonly prompt: Prompt.RawInput
  /** Tools with their handlers (`yield* toolkit` with the handler layer provided). */
  // biome-ignore lint/suspicious/noExplicitAny: the port carries any caller's toolkit; the caller keeps its types.
  readonly toolkit?: Toolkit.WithHandler<any>
}

/** One tool call the model made, with what the tool answered (encoded, as it was sent back to the model). */
export interface ToolUse {
  readonly name: string
  readonly params: unknown
  readonly result: unknown
  readonly isFailure: boolean
}

/** A completed generation: the text, who answered it, and every model call's tokens summed. */
export interface AiAnswer {
  readonly text: string
  readonly provider: AiProviderName
  readonly model: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly toolUses: ReadonlyArray<ToolUse>
}

/** A streamed generation: the text as it comes, then the whole answer. */
export type AiStreamPart<Done = AiAnswer> =
  | { readonly _tag: "TextDelta"; readonly delta: string }
  | { readonly _tag: "Done"; readonly answer: Done }

export type AiError = AiUnavailable | Fallback.AiGenerationFailed

export interface AiShape {
  /** False when no provider has a key: the feature does not exist (the API says 404, the console hides it). */
  readonly available: boolean
  /** The configured providers, in fallback order. */
  readonly providers: ReadonlyArray<AiProviderName>
  /** Fails with AiUnavailable when no provider is configured: what an AI feature's endpoints check first. */
  readonly require: Effect.Effect<void, AiUnavailable>
  readonly generate: (request: AiRequest) => Effect.Effect<AiAnswer, AiError>
  readonly stream: (request: AiRequest) => Stream.Stream<AiStreamPart, AiError>
}

/**
 * Language models behind one interface, one folder per provider (openai, anthropic, gemini), tried in
 * AI_PROVIDERS order with Effect's ExecutionPlan (Fallback.ts). A generation is a tool loop: while the model
 * asks for tools, their handlers run and the results go back in the provider's format. Features do not call
 * it directly: they go through `AiUsage`, which checks the organisation's budget and records the usage.
 */
export class Ai extends Context.Tag("@tapline/server/Ai")<Ai, AiShape>() {}

// biome-ignore lint/suspicious/noExplicitAny: parts of any toolkit's response.
type AnyPart = Response.AnyPart | Response.StreamPart<any>

/** The tool calls a response's parts made, paired with their results. */
const toolUsesOf = (parts: ReadonlyArray<AnyPart>): Array<ToolUse> =>
  parts.flatMap((part) => {
    if (part.type !== "tool-result") return []
    const call = parts.find((p) => p.type === "tool-call" && p.id === part.id)
    return [
      {
        name: part.name,
        params: call !== undefined && call.type === "tool-call" ? call.params : undefined,
        result: part.encodedResult,
        isFailure: part.isFailure
      }
    ]
  })

/**
 * Whether the model refused: a finish for the content filter (Anthropic's `refusal`, a chat completion's
 * `content_filter`), or OpenAI's refusal part, which its client hands over as empty text with the refusal in
 * the part's metadata.
 */
const refusedIn = (parts: ReadonlyArray<AnyPart>): boolean =>
  parts.some(
    (part) =>
      (part.type === "finish" && part.reason === "content-filter") ||
      (part.type === "text" &&
        typeof (part.metadata as { openai?: { refusal?: unknown } } | undefined)?.openai?.refusal ===
          "string")
  )

const toolLoop = (provider: AiProviderModel, rounds: number) =>
  new Fallback.AiAttemptFailed({
    provider: provider.provider,
    model: provider.model,
    reason: "tool_loop",
    message: `${provider.provider}: still calling tools after ${rounds} rounds`
  })

export const make = (
  models: ReadonlyArray<AiProviderModel>,
  settings: Pick<AiSettings, "timeout" | "maxToolRounds">,
  metrics: Pick<MetricsShape, "aiGenerations" | "aiTokens">
): AiShape => {
  const unavailable = new AiUnavailable({
    message: "no language-model provider is configured on this server"
  })
  const providers = Effect.suspend(() =>
    Arr.isNonEmptyReadonlyArray(models) ? Effect.succeed(models) : Effect.fail(unavailable)
  )

  const hooks: Fallback.Attempts = {
    onAttempt: (provider, outcome) =>
      Effect.gen(function* () {
        metrics.aiGenerations.inc({ provider: provider.provider, outcome })
        if (outcome !== "success") {
          yield* Effect.logWarning("AI provider failed").pipe(
            Effect.annotateLogs({ provider: provider.provider, outcome })
          )
        }
      })
  }

  const counted = (answer: AiAnswer) =>
    Effect.sync(() => {
      metrics.aiTokens.inc({ provider: answer.provider, kind: "input" }, answer.inputTokens)
      metrics.aiTokens.inc({ provider: answer.provider, kind: "output" }, answer.outputTokens)
      return answer
    })

  const withTimeout = Fallback.withTimeout(settings.timeout)

  /** One provider's tool loop, each model call under AI_TIMEOUT. */
  const loop = (provider: AiProviderModel, request: AiRequest) =>
    Effect.gen(function* () {
      let prompt = Prompt.make(request.prompt)
      let inputTokens = 0
      let outputTokens = 0
      const toolUses: Array<ToolUse> = []
      for (let round = 1; ; round++) {
        const response = yield* withTimeout(
          LanguageModel.generateText({ prompt, toolkit: request.toolkit }) as Effect.Effect<
            // biome-ignore lint/suspicious/noExplicitAny: any caller's toolkit.
            LanguageModel.GenerateTextResponse<any>,
            unknown,
            LanguageModel.LanguageModel
          >
        )
        inputTokens += response.usage.inputTokens ?? 0
        outputTokens += response.usage.outputTokens ?? 0
        if (refusedIn(response.content)) return yield* Fallback.refused(provider)
        const uses = toolUsesOf(response.content)
        toolUses.push(...uses)
        if (uses.length === 0) {
          const answer: AiAnswer = {
            text: response.text,
            provider: provider.provider,
            model: provider.model,
            inputTokens,
            outputTokens,
            toolUses
          }
          return answer
        }
        if (round >= settings.maxToolRounds) return yield* toolLoop(provider, round)
        prompt = Prompt.merge(prompt, Prompt.fromResponseParts(response.content))
      }
    })

  const generate = (request: AiRequest): Effect.Effect<AiAnswer, AiError> =>
    Effect.flatMap(providers, (list) =>
      Fallback.run(list, hooks, (provider) => loop(provider, request))
    ).pipe(Effect.tap(counted), Effect.withSpan("Ai.generate"))

  /** The streamed tool loop of one provider: each round's text as it comes, the tools run between rounds. */
  const streamLoop = (provider: AiProviderModel, request: AiRequest) =>
    Stream.suspend(() => {
      const answer = {
        text: "",
        provider: provider.provider,
        model: provider.model,
        inputTokens: 0,
        outputTokens: 0,
        toolUses: [] as Array<ToolUse>
      }
      const round = (
        prompt: Prompt.Prompt,
        index: number
      ): Stream.Stream<AiStreamPart, unknown, LanguageModel.LanguageModel> =>
        Stream.suspend(() => {
          const parts: Array<AnyPart> = []
          const model = LanguageModel.streamText({ prompt, toolkit: request.toolkit }) as Stream.Stream<
            // biome-ignore lint/suspicious/noExplicitAny: any caller's toolkit.
            Response.StreamPart<any>,
            unknown,
            LanguageModel.LanguageModel
          >
          const deltas = model.pipe(
            Stream.timeoutFail(() => Fallback.timedOut(provider), settings.timeout),
            Stream.tap((part) => Effect.sync(() => parts.push(part))),
            Stream.filterMap((part) =>
              part.type === "text-delta"
                ? Option.some<AiStreamPart>({ _tag: "TextDelta", delta: part.delta })
                : Option.none()
            ),
            Stream.tap((part) =>
              Effect.sync(() => {
                if (part._tag === "TextDelta") answer.text += part.delta
              })
            )
          )
          const next = Stream.suspend(
            (): Stream.Stream<AiStreamPart, unknown, LanguageModel.LanguageModel> => {
              for (const part of parts) {
                if (part.type === "finish") {
                  answer.inputTokens += part.usage.inputTokens ?? 0
                  answer.outputTokens += part.usage.outputTokens ?? 0
                }
              }
              if (refusedIn(parts)) return Stream.fail(Fallback.refused(provider))
              const uses = toolUsesOf(parts)
              answer.toolUses.push(...uses)
              if (uses.length === 0) return Stream.succeed<AiStreamPart>({ _tag: "Done", answer })
              if (index >= settings.maxToolRounds) return Stream.fail(toolLoop(provider, index))
              return round(Prompt.merge(prompt, Prompt.fromResponseParts(parts)), index + 1)
            }
          )
          return Stream.concat(deltas, next)
        })
      return round(Prompt.make(request.prompt), 1)
    })

  const stream = (request: AiRequest): Stream.Stream<AiStreamPart, AiError> =>
    Stream.unwrap(
      Effect.map(providers, (list) =>
        Fallback.stream(list, hooks, (provider) => streamLoop(provider, request))
      )
    ).pipe(Stream.tap((part) => (part._tag === "Done" ? Effect.asVoid(counted(part.answer)) : Effect.void)))

  return {
    available: models.length > 0,
    providers: models.map((m) => m.provider),
    require: Effect.asVoid(providers),
    generate,
    stream
  }
}

/** The port over the providers AI_PROVIDERS names that have a key (none: `available` is false). */
export const layer = Layer.effect(
  Ai,
  Effect.gen(function* () {
    const models = yield* AiModels
    const { ai } = yield* AppConfig
    const metrics = yield* Metrics
    return make(models, ai, metrics)
  })
)

/** The port as configuration says (AI_PROVIDERS, each provider's key, model and URL). */
export const layerConfig = layer.pipe(Layer.provide(modelsFromConfig))
