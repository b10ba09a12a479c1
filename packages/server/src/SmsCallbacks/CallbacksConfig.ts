import { Config, ConfigError, Context, Effect, Either, Layer, Option, Redacted } from "effect"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { VONAGE_METHODS, type VonageMethod } from "./VonageSignature.js"

/*
 * What the callback routes need to tell a provider's callback from a forgery. A provider without its secret
 * has nothing to verify with, so every callback to its routes is refused (403): an unset variable never means
 * "accept unsigned".
 */

export const DEFAULT_HELP_TEXT =
  "Tapline event messages. Reply STOP to stop getting texts, START to get them again. Msg&data rates may apply."

export interface CallbacksSettings {
  /** TWILIO_AUTH_TOKEN: the key of X-Twilio-Signature. */
  readonly twilioAuthToken: Option.Option<Redacted.Redacted>
  /** VONAGE_SIGNATURE_SECRET and VONAGE_SIGNATURE_METHOD (the method chosen in Vonage's dashboard). */
  readonly vonageSecret: Option.Option<Redacted.Redacted>
  readonly vonageMethod: VonageMethod
  /** SNS_TOPIC_ARNS: the topics whose messages are taken; none set refuses every SNS message. */
  readonly snsTopicArns: ReadonlyArray<string>
  /** SNS_TRUSTED_CERT_HOST: FOR TESTS ONLY, one more host:port the SNS signing certificate may come from. */
  readonly snsTrustedCertHost: Option.Option<string>
  /** SMS_HELP_TEXT: the answer to HELP when no organisation's journey texted the phone. */
  readonly helpText: string
  /** PUBLIC_URL: Twilio signs the URL it called, so the one its console was given. */
  readonly publicUrl: URL
}

const vonageMethod = Config.string("VONAGE_SIGNATURE_METHOD").pipe(
  Config.withDefault("md5hash"),
  Config.mapOrFail((text) => {
    const method = text.trim().toLowerCase()
    return (VONAGE_METHODS as ReadonlyArray<string>).includes(method)
      ? Either.right(method as VonageMethod)
      : Either.left(ConfigError.InvalidData([], `expected one of ${VONAGE_METHODS.join(", ")}`))
  })
)

/** An empty secret is no secret: HMAC with an empty key would verify anyone's guess. */
const nonEmpty = (secret: Option.Option<Redacted.Redacted>) =>
  Option.filter(secret, (value) => Redacted.value(value) !== "")

const list = (text: string) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0)

export const config = Config.all({
  twilioAuthToken: Config.option(Config.redacted("TWILIO_AUTH_TOKEN")),
  vonageSecret: Config.option(Config.redacted("VONAGE_SIGNATURE_SECRET")),
  vonageMethod,
  snsTopicArns: Config.string("SNS_TOPIC_ARNS").pipe(Config.withDefault(""), Config.map(list)),
  snsTrustedCertHost: Config.option(Config.string("SNS_TRUSTED_CERT_HOST")).pipe(
    Config.map(Option.filter((host) => host.trim() !== ""))
  ),
  helpText: Config.string("SMS_HELP_TEXT").pipe(
    Config.withDefault(DEFAULT_HELP_TEXT),
    Config.validate({
      message: "expected 1 to 300 characters",
      validation: (t) => t.length > 0 && t.length <= 300
    })
  )
})

export class CallbacksConfig extends Context.Tag("@tapline/server/SmsCallbacksConfig")<
  CallbacksConfig,
  CallbacksSettings
>() {
  static readonly layer = Layer.effect(
    CallbacksConfig,
    Effect.gen(function* () {
      const app = yield* AppConfig
      const settings = yield* config
      return {
        ...settings,
        twilioAuthToken: nonEmpty(settings.twilioAuthToken),
        vonageSecret: nonEmpty(settings.vonageSecret),
        publicUrl: publicOrigin(app)
      }
    })
  )
}
