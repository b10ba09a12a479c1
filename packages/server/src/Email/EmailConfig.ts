import { Config, type ConfigError, Duration, Effect, Option, type Scope } from "effect"
import * as ProviderList from "../Config/ProviderList.js"
import type { EmailShape } from "./Email.js"

/*
 * The port's own settings: which providers, in what order, and what every provider shares. Each provider
 * reads its own variables (SMTP_URL, RESEND_API_KEY…) in its file, and only when EMAIL_PROVIDERS names it.
 */

/** The names EMAIL_PROVIDERS takes; `providers.ts` has one row for each (the compiler holds them together). */
export const EMAIL_PROVIDERS = ["log", "smtp", "resend", "postmark", "ses", "sendgrid", "mailgun"] as const
export type EmailProviderName = (typeof EMAIL_PROVIDERS)[number]

/** What every provider is given besides its own variables. */
export interface SharedSettings {
  readonly from: string
  /** One provider's deadline for one message, before the next provider is tried. */
  readonly timeout: Duration.DurationInput
}

/** A provider as the registry knows it: built from its own variables, its SDK (if any) imported only then. */
export interface EmailProvider {
  readonly fromConfig: (
    shared: SharedSettings
  ) => Effect.Effect<EmailShape, ConfigError.ConfigError, Scope.Scope>
}

/** A setting the named provider cannot do without: its absence stops the start, naming the variable. */
export const required = <A>(provider: EmailProviderName, setting: Option.Option<A>, variable: string) =>
  Option.match(setting, {
    onNone: () => Effect.dieMessage(`the ${provider} email provider needs ${variable}`),
    onSome: Effect.succeed
  })

/** An ordered, comma-separated list of provider names, each known and named once. */
const providerList = ProviderList.providerList(EMAIL_PROVIDERS, { allowEmpty: false })

/** The port's settings, mounted in AppConfig as `email` (the job queue reads the retry settings). */
export const config = Config.all({
  /** The providers in failover order; EMAIL_PROVIDER (one name) is read when EMAIL_PROVIDERS is not set. */
  providers: Config.all([
    Config.option(providerList.pipe(Config.nested("EMAIL_PROVIDERS"))),
    Config.option(providerList.pipe(Config.nested("EMAIL_PROVIDER")))
  ]).pipe(
    Config.map(([list, single]) =>
      Option.getOrElse(
        Option.orElse(list, () => single),
        (): ReadonlyArray<EmailProviderName> => ["log"]
      )
    )
  ),
  from: Config.string("EMAIL_FROM").pipe(Config.withDefault("Tapline <no-reply@tapline.example>")),
  /** One provider's deadline for one message, before the next provider is tried. */
  timeout: Config.duration("EMAIL_TIMEOUT").pipe(Config.withDefault(Duration.seconds(10))),
  /** Attempts of the whole provider list after the first, with a doubling delay from EMAIL_RETRY_DELAY_SECONDS. */
  retryLimit: Config.integer("EMAIL_RETRY_LIMIT").pipe(Config.withDefault(8)),
  retryDelaySeconds: Config.integer().pipe(
    Config.validate({ message: "expected a positive integer", validation: (n) => n > 0 }),
    Config.nested("EMAIL_RETRY_DELAY_SECONDS"),
    Config.withDefault(30)
  )
})
