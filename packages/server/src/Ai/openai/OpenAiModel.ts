import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import { Layer, type Redacted } from "effect"
import { type AiProviderModel, baseUrl } from "../AiProvider.js"

/** The openai provider's LanguageModel: its SDK, imported only when OPENAI_API_KEY is set (OpenAi.ts). */
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
