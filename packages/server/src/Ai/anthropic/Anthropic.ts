import { Config, Effect, Layer, Option } from "effect"
import { type AiProvider, apiKey } from "../AiProvider.js"

/*
 * Anthropic through @effect/ai-anthropic: the Messages API (POST {ANTHROPIC_API_URL}/v1/messages, `x-api-key`,
 * `anthropic-version: 2023-06-01`).
 */

export const DEFAULT_MODEL = "claude-3-5-haiku-latest"
export const DEFAULT_URL = "https://api.anthropic.com"

/** ANTHROPIC_API_KEY (none: Anthropic is not configured), ANTHROPIC_MODEL, ANTHROPIC_API_URL. */
export const fromConfig: AiProvider["fromConfig"] = Effect.gen(function* () {
  const key = yield* apiKey("ANTHROPIC_API_KEY")
  if (Option.isNone(key)) return Option.none()
  const model = yield* Config.string("ANTHROPIC_MODEL").pipe(Config.withDefault(DEFAULT_MODEL))
  const apiUrl = yield* Config.string("ANTHROPIC_API_URL").pipe(Config.withDefault(DEFAULT_URL))
  // The SDK is loaded only now: a server without this provider never imports it.
  const { make } = yield* Effect.promise(() => import("./AnthropicModel.js"))
  return Option.some(make({ apiKey: key.value, model, apiUrl }))
})

/** This provider alone, from its variables; a missing key stops the start, naming it. */
export const layerConfig = Layer.unwrapEffect(
  Effect.flatMap(fromConfig, (provider) =>
    Option.match(provider, {
      onNone: () => Effect.dieMessage("the anthropic AI provider needs ANTHROPIC_API_KEY"),
      onSome: (p) => Effect.succeed(p.layer)
    })
  )
)
