import { Config, type ConfigError, Duration, Effect, Option, type Scope } from "effect"
import * as ProviderList from "../Config/ProviderList.js"
import type { SmsShape } from "./Sms.js"

/*
 * The port's own settings: which providers, in what order, and what every provider shares. Each provider
 * reads its own variables (TWILIO_ACCOUNT_SID, SNS_REGION…) in its file, and only when SMS_PROVIDERS names it.
 */

/** The names SMS_PROVIDERS takes; `providers.ts` has one row for each (the compiler holds them together). */
export const SMS_PROVIDERS = ["twilio", "sns", "vonage", "log"] as const
export type SmsProviderName = (typeof SMS_PROVIDERS)[number]

/** What every provider is given besides its own variables. */
export interface SharedSettings {
  /** One provider's deadline for one message, before the next provider is tried. */
  readonly timeout: Duration.DurationInput
  /** PUBLIC_URL when it is set: where providers that take a per-message status callback send it. */
  readonly publicUrl: Option.Option<URL>
}

/** A provider as the registry knows it: built from its own variables, its SDK (if any) imported only then. */
export interface SmsProvider {
  readonly fromConfig: (
    shared: SharedSettings
  ) => Effect.Effect<SmsShape, ConfigError.ConfigError, Scope.Scope>
}

/** A setting the named provider cannot do without: its absence stops the start, naming the variable. */
export const required = <A>(provider: SmsProviderName, setting: Option.Option<A>, variable: string) =>
  Option.match(setting, {
    onNone: () => Effect.dieMessage(`the ${provider} SMS provider needs ${variable}`),
    onSome: Effect.succeed
  })

/**
 * An ordered, comma-separated list of provider names, each known and named once. Unset or empty: no SMS at
 * all (journeys' SMS messages then fail permanently, saying so), unlike email, which falls back to the log.
 */
const providerList = ProviderList.providerList(SMS_PROVIDERS, { allowEmpty: true })

/** The port's settings, mounted in AppConfig as `sms`. */
export const config = Config.all({
  /** The providers in failover order; none when SMS_PROVIDERS is unset or empty. */
  providers: providerList.pipe(
    Config.nested("SMS_PROVIDERS"),
    Config.withDefault([] as ReadonlyArray<SmsProviderName>)
  ),
  /** One provider's deadline for one message, before the next provider is tried. */
  timeout: Config.duration("SMS_TIMEOUT").pipe(Config.withDefault(Duration.seconds(10)))
})
