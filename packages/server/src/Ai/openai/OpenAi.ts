import { Config, Effect, Layer, Option } from "effect"
import { type AiProvider, apiKey } from "../AiProvider.js"

/*
 * OpenAI through @effect/ai-openai. Its language model speaks the Responses API (POST {OPENAI_API_URL}/responses,
 * `Authorization: Bearer`), not chat completions: the contract test holds it to that.
 */

export const DEFAULT_MODEL = "gpt-4o-mini"
export const DEFAULT_URL = "https://api.openai.com/v1"

/** OPENAI_API_KEY (none: OpenAI is not configured), OPENAI_MODEL, OPENAI_API_URL. */
export const fromConfig: AiProvider["fromConfig"] = Effect.gen(function* () {
  const key = yield* apiKey("OPENAI_API_KEY")
  if (Option.isNone(key)) return Option.none()
  const model = yield* Config.string("OPENAI_MODEL").pipe(Config.withDefault(DEFAULT_MODEL))
  const apiUrl = yield* Config.string("OPENAI_API_URL").pipe(Config.withDefault(DEFAULT_URL))
  // The SDK is loaded only now: a server without this provider never imports it.
  const { make } = yield* Effect.promise(() => import("./OpenAiModel.js"))
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
