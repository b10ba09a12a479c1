import * as AnthropicClient from "@effect/ai-anthropic/AnthropicClient"
import * as AnthropicLanguageModel from "@effect/ai-anthropic/AnthropicLanguageModel"
import { Layer, type Redacted } from "effect"
import { type AiProviderModel, baseUrl } from "../AiProvider.js"

/** The anthropic provider's LanguageModel: its SDK, imported only when ANTHROPIC_API_KEY is set (Anthropic.ts). */
export const make = (options: {
  readonly apiKey: Redacted.Redacted<string>
  readonly model: string
  readonly apiUrl: string
}): AiProviderModel => ({
  provider: "anthropic",
  model: options.model,
  layer: AnthropicLanguageModel.layer({ model: options.model }).pipe(
    Layer.provide(AnthropicClient.layer({ apiKey: options.apiKey, apiUrl: baseUrl(options.apiUrl) }))
  )
})
