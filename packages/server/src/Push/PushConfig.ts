import { Config, ConfigError, Duration, Effect, Option, type Scope } from "effect"
import * as ProviderList from "../Config/ProviderList.js"
import type { PushShape } from "./Push.js"

/*
 * The port's own settings: which providers, in what order, and the deadline they share. Each provider reads its
 * own variables (PUSH_VAPID_*, PUSH_FCM_*, PUSH_APNS_*) in its file, and only when PUSH_PROVIDERS names it.
 */

/** The names PUSH_PROVIDERS takes; `providers.ts` has one row for each (the compiler holds them together). */
export const PUSH_PROVIDERS = ["webpush", "fcm", "apns", "log"] as const
export type PushProviderName = (typeof PUSH_PROVIDERS)[number]

/** What every provider is given besides its own variables. */
export interface SharedSettings {
  /** One provider's deadline for one message (a token exchange included), before the next is tried. */
  readonly timeout: Duration.DurationInput
  /** How a subscription's own URL (a Web Push endpoint) is dialled: through the outbound policy. */
  readonly endpointFetch?: typeof globalThis.fetch
}

/** A provider as the registry knows it: built from its own variables, its library (if any) loaded only then. */
export interface PushProvider {
  readonly fromConfig: (
    shared: SharedSettings
  ) => Effect.Effect<PushShape, ConfigError.ConfigError, Scope.Scope>
}

/**
 * A setting the named provider cannot do without: its absence stops the start with a ConfigError naming the
 * variable (a typed failure, so it reads like every other configuration error).
 */
export const required = <A>(provider: PushProviderName, setting: Option.Option<A>, variable: string) =>
  Option.match(setting, {
    onNone: () =>
      Effect.fail(ConfigError.MissingData([variable], `the ${provider} push provider needs ${variable}`)),
    onSome: (value) => Effect.succeed(value)
  })

/** An ordered, comma-separated list of provider names, each known and named once; empty is none. */
const providerList = ProviderList.providerList(PUSH_PROVIDERS, { allowEmpty: true })

/** The port's settings, mounted in AppConfig as `push`. */
export const config = Config.all({
  /**
   * The providers in failover order. Unset (or empty): no push at all, and every send fails permanently, so
   * a server without push credentials starts and its journeys skip the channel instead of retrying it.
   */
  providers: Config.option(providerList.pipe(Config.nested("PUSH_PROVIDERS"))).pipe(
    Config.map(Option.getOrElse((): ReadonlyArray<PushProviderName> => []))
  ),
  timeout: Config.duration("PUSH_TIMEOUT").pipe(Config.withDefault(Duration.seconds(10)))
})
