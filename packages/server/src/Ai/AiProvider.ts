import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { AiProviderName } from "@tapline/domain"
import { Config, type ConfigError, Effect, type Layer, Option, Redacted } from "effect"

/**
 * One configured provider: its name (the metric label and the usage row's `provider`), the model it runs and
 * the `LanguageModel` that speaks its wire format. The layer needs only an HttpClient, so a test points it at a
 * loopback peer by its URL alone.
 */
export interface AiProviderModel {
  readonly provider: AiProviderName
  readonly model: string
  readonly layer: Layer.Layer<LanguageModel.LanguageModel, never, HttpClient.HttpClient>
}

/** What a provider's folder exports for the registry: its model from its own variables, none without a key. */
export interface AiProvider {
  readonly fromConfig: Effect.Effect<Option.Option<AiProviderModel>, ConfigError.ConfigError>
}

/** A provider's key: absent or blank is "not configured" (the provider is skipped), never an empty header. */
export const apiKey = (
  variable: string
): Effect.Effect<Option.Option<Redacted.Redacted<string>>, ConfigError.ConfigError> =>
  Effect.map(
    Config.option(Config.redacted(variable)),
    Option.filter((key) => Redacted.value(key).trim().length > 0)
  )

/** A base URL without its trailing slash: the clients append paths that start with one. */
export const baseUrl = (url: string): string => url.replace(/\/+$/, "")
