import type { AiProviderName } from "@tapline/domain"
import { Context, Effect, Layer, Option } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import type { AiProvider, AiProviderModel } from "./AiProvider.js"
import * as Anthropic from "./anthropic/Anthropic.js"
import * as Gemini from "./gemini/Gemini.js"
import * as OpenAi from "./openai/OpenAi.js"

/**
 * The registry: each name AI_PROVIDERS takes and the folder that builds it from its own variables. A new
 * provider is a folder and one row here (and its name in AiConfig's list and the domain's AiProviderName).
 */
export const providers = {
  openai: OpenAi,
  anthropic: Anthropic,
  gemini: Gemini
} satisfies Record<AiProviderName, AiProvider>

/** The configured providers, in fallback order; empty when no key is set (there is no AI then). */
export class AiModels extends Context.Tag("@tapline/server/AiModels")<
  AiModels,
  ReadonlyArray<AiProviderModel>
>() {}

/** The providers AI_PROVIDERS names that have a key, in its order. */
export const layerConfig = Layer.effect(
  AiModels,
  Effect.gen(function* () {
    const { ai } = yield* AppConfig
    const built = yield* Effect.forEach(ai.providers, (name) => providers[name].fromConfig)
    return built.flatMap(Option.toArray)
  })
)

/** Given providers (a test's peers), in this order. */
export const layer = (models: ReadonlyArray<AiProviderModel>) => Layer.succeed(AiModels, models)
