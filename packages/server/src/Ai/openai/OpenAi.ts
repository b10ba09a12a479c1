import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import { Config, Effect, Layer, Option, type Redacted } from "effect"
import { type AiProvider, type AiProviderModel, apiKey, baseUrl } from "../AiProvider.js"

/*
 * OpenAI through @effect/ai-openai. Its language model speaks the Responses API (POST {OPENAI_API_URL}/responses,
 * `Authorization: Bearer`), not chat completions: the contract test holds it to that.
 */

export const DEFAULT_MODEL = "gpt-4o-mini"
export const DEFAULT_URL = "https://api.openai.com/v1"

export const make = (options: {
  readonly apiKey: Redacted.Redacted<string>
  readonly model: string
  readonly apiUrl: string
}): AiProviderModel => ({
  provider: "openai",
  model: options.model,
  layer: OpenAiLanguageModel.layer({ model: options.model }).pipe(
    Layer.provide(OpenAiClient.layer({ apiKey: options.apiKey, apiUrl: baseUrl(options.apiUrl) }))
  )
})

/** OPENAI_API_KEY (none: OpenAI is not configured), OPENAI_MODEL, OPENAI_API_URL. */
export const fromConfig: AiProvider["fromConfig"] = Effect.gen(function* () {
  const key = yield* apiKey("OPENAI_API_KEY")
  if (Option.isNone(key)) return Option.none()
  const model = yield* Config.string("OPENAI_MODEL").pipe(Config.withDefault(DEFAULT_MODEL))
  const apiUrl = yield* Config.string("OPENAI_API_URL").pipe(Config.withDefault(DEFAULT_URL))
  return Option.some(make({ apiKey: key.value, model, apiUrl }))
})

/** This provider alone, from its variables; a missing key stops the start, naming it. */
export const layerConfig = Layer.unwrapEffect(
  Effect.flatMap(fromConfig, (provider) =>
    Option.match(provider, {
      onNone: () => Effect.dieMessage("the openai AI provider needs OPENAI_API_KEY"),
      onSome: (p) => Effect.succeed(p.layer)
    })
  )
)
