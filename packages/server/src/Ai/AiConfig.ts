import type { AiProviderName } from "@tapline/domain"
import { Config, ConfigError, Duration, Either, Option } from "effect"

/*
 * The port's own settings: which providers, in what order, their deadline and their prices. Each provider
 * reads its own variables (OPENAI_API_KEY, ANTHROPIC_MODEL…) in its folder; a provider without a key is left
 * out, and with no key at all there is no AI on this server.
 */

/** The names AI_PROVIDERS takes, in the default order: OpenAI, then Anthropic, then Gemini. */
export const AI_PROVIDERS = ["openai", "anthropic", "gemini"] as const satisfies ReadonlyArray<AiProviderName>

/** US dollars per million tokens, input and output, for one "provider:model". */
export interface Price {
  readonly input: number
  readonly output: number
}

const providerList = Config.string().pipe(
  Config.mapOrFail((text) => {
    const names = text
      .split(",")
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name.length > 0)
    const unknown = names.filter((name) => !(AI_PROVIDERS as ReadonlyArray<string>).includes(name))
    if (names.length === 0 || unknown.length > 0 || new Set(names).size !== names.length) {
      return Either.left(
        ConfigError.InvalidData(
          [],
          `expected distinct names among ${AI_PROVIDERS.join(", ")} separated by commas`
        )
      )
    }
    return Either.right(names as ReadonlyArray<AiProviderName>)
  })
)

const isPrice = (value: unknown): value is Price =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as Price).input === "number" &&
  typeof (value as Price).output === "number" &&
  (value as Price).input >= 0 &&
  (value as Price).output >= 0

/**
 * AI_PRICES: JSON, `{"openai:gpt-4o-mini":{"input":0.15,"output":0.6}}`, US dollars per million tokens. A model
 * without a price costs 0 (its tokens are still counted): the operator's list, not a table in the code, because
 * prices change more often than releases.
 */
const prices = Config.string().pipe(
  Config.mapOrFail((text) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return Either.left(ConfigError.InvalidData([], "expected JSON"))
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return Either.left(ConfigError.InvalidData([], 'expected {"provider:model":{"input":n,"output":n}}'))
    }
    const bad = Object.entries(parsed).filter(([key, value]) => !/^[a-z]+:.+$/.test(key) || !isPrice(value))
    if (bad.length > 0) {
      return Either.left(
        ConfigError.InvalidData(
          [],
          `expected "provider:model" keys with {"input":n,"output":n} (US dollars per million tokens); not: ${bad
            .map(([key]) => key)
            .join(", ")}`
        )
      )
    }
    return Either.right(parsed as Readonly<Record<string, Price>>)
  })
)

/** The port's settings, mounted in AppConfig as `ai`. */
export const config = Config.all({
  /** The providers in fallback order; those without a key are skipped. */
  providers: Config.option(providerList.pipe(Config.nested("AI_PROVIDERS"))).pipe(
    Config.map(Option.getOrElse((): ReadonlyArray<AiProviderName> => AI_PROVIDERS))
  ),
  /** One provider's deadline for one model call, before the next provider is tried. */
  timeout: Config.duration("AI_TIMEOUT").pipe(Config.withDefault(Duration.seconds(60))),
  prices: prices.pipe(Config.nested("AI_PRICES"), Config.withDefault({} as Readonly<Record<string, Price>>)),
  /** Model calls one generation may make while the model keeps asking for tools. */
  maxToolRounds: Config.integer("AI_MAX_TOOL_ROUNDS").pipe(
    Config.validate({ message: "expected 1 to 20", validation: (n) => n >= 1 && n <= 20 }),
    Config.withDefault(8)
  )
})

export type AiSettings = Config.Config.Success<typeof config>

/** The cost of a generation in US dollars, from the configured price of "provider:model" (0 without one). */
export const costOf = (
  settings: Pick<AiSettings, "prices">,
  provider: string,
  model: string,
  usage: { readonly inputTokens: number; readonly outputTokens: number }
): number => {
  const price = settings.prices[`${provider}:${model}`]
  if (price === undefined) return 0
  return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000
}
