import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import { Layer, type Redacted } from "effect"
import { type AiProviderModel, baseUrl } from "../AiProvider.js"
import * as ChatCompletions from "./ChatCompletions.js"

/** The gemini provider's LanguageModel: its SDK, imported only when GEMINI_API_KEY is set (Gemini.ts). */
export const make = (options: {
  readonly apiKey: Redacted.Redacted<string>
  readonly model: string
  readonly apiUrl: string
}): AiProviderModel => ({
  provider: "gemini",
  model: options.model,
  layer: ChatCompletions.layer({ model: options.model, module: "Gemini" }).pipe(
    Layer.provide(OpenAiClient.layer({ apiKey: options.apiKey, apiUrl: baseUrl(options.apiUrl) }))
  )
})
