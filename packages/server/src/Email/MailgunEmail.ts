import { Config, type Duration, Effect, Layer, Redacted } from "effect"
import { Email } from "./Email.js"
import { required, type SharedSettings } from "./EmailConfig.js"
import { post } from "./HttpEmail.js"

export interface MailgunOptions {
  readonly apiKey: Redacted.Redacted
  /** The sending domain configured in Mailgun. */
  readonly domain: string
  readonly from: string
  /** https://api.mailgun.net, or https://api.eu.mailgun.net for an EU account. */
  readonly baseUrl: string
  readonly timeout: Duration.DurationInput
}

/** Mailgun: `POST /v3/<domain>/messages`, a form body, basic auth as `api` with the key. */
export const make = (options: MailgunOptions) =>
  Email.of({
    provider: "mailgun",
    send: (message) => {
      const form = new URLSearchParams({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text
      })
      if (message.html !== undefined) form.set("html", message.html)
      if (message.id !== undefined) form.set("v:tapline-message-id", message.id)
      // Mailgun takes any MIME header as an `h:`-prefixed form field.
      for (const [name, value] of Object.entries(message.headers ?? {})) form.set(`h:${name}`, value)
      return post(
        "mailgun",
        {
          url: new URL(`/v3/${encodeURIComponent(options.domain)}/messages`, options.baseUrl).href,
          headers: {
            authorization: `Basic ${Buffer.from(`api:${Redacted.value(options.apiKey)}`).toString("base64")}`,
            "content-type": "application/x-www-form-urlencoded"
          },
          body: form.toString()
        },
        options.timeout
      )
    }
  })

export const layer = (options: MailgunOptions) => Layer.succeed(Email, make(options))

export const config = Config.all({
  apiKey: Config.option(Config.redacted("MAILGUN_API_KEY")),
  domain: Config.option(Config.string("MAILGUN_DOMAIN")),
  /** https://api.eu.mailgun.net for an account in Mailgun's EU region. */
  baseUrl: Config.string("MAILGUN_BASE_URL").pipe(Config.withDefault("https://api.mailgun.net"))
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.gen(function* () {
    const own = yield* config
    return make({
      apiKey: yield* required("mailgun", own.apiKey, "MAILGUN_API_KEY"),
      domain: yield* required("mailgun", own.domain, "MAILGUN_DOMAIN"),
      baseUrl: own.baseUrl,
      ...shared
    })
  })

export const layerConfig = (shared: SharedSettings) => Layer.effect(Email, fromConfig(shared))
