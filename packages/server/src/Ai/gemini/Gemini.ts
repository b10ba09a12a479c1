import { Config, Effect, Layer, Option } from "effect"
import { type AiProvider, apiKey } from "../AiProvider.js"

/*
 * Gemini through its OpenAI-compatible endpoint, with the OpenAI client (`Authorization: Bearer`, base URL
 * GEMINI_API_URL): @effect/ai-google does not resolve with our Effect line. That endpoint speaks chat
 * completions, not the Responses API @effect/ai-openai's model uses, so the model is ours (ChatCompletions.ts).
 */

export const DEFAULT_MODEL = "gemini-2.0-flash"
export const DEFAULT_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"

/** GEMINI_API_KEY (none: Gemini is not configured), GEMINI_MODEL, GEMINI_API_URL. */
export const fromConfig: AiProvider["fromConfig"] = Effect.gen(function* () {
  const key = yield* apiKey("GEMINI_API_KEY")
  if (Option.isNone(key)) return Option.none()
  const model = yield* Config.string("GEMINI_MODEL").pipe(Config.withDefault(DEFAULT_MODEL))
  const apiUrl = yield* Config.string("GEMINI_API_URL").pipe(Config.withDefault(DEFAULT_URL))
  // The SDK is loaded only now: a server without this provider never imports it.
  const { make } = yield* Effect.promise(() => import("./GeminiModel.js"))
  return Option.some(make({ apiKey: key.value, model, apiUrl }))
})

/** This provider alone, from its variables; a missing key stops the start, naming it. */
export const layerConfig = Layer.unwrapEffect(
  Effect.flatMap(fromConfig, (provider) =>
    Option.match(provider, {
      onNone: () => Effect.dieMessage("the gemini AI provider needs GEMINI_API_KEY"),
      onSome: (p) => Effect.succeed(p.layer)
    })
  )
)
