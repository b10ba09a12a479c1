import { Config, type Duration, Effect, Layer, Redacted } from "effect"
import { Email, parseAddress } from "./Email.js"
import { required, type SharedSettings } from "./EmailConfig.js"
import { post } from "./HttpEmail.js"

export interface SendGridOptions {
  readonly apiKey: Redacted.Redacted
  readonly from: string
  /** https://api.sendgrid.com; a test points it at its loopback peer. */
  readonly baseUrl: string
  readonly timeout: Duration.DurationInput
}

/**
 * SendGrid v3: `POST /v3/mail/send` with a bearer key; plain text must come before HTML in `content`; extra headers
 * in the message-wide `headers` object.
 */
export const make = (options: SendGridOptions) =>
  Email.of({
    provider: "sendgrid",
    send: (message) =>
      post(
        "sendgrid",
        {
          url: new URL("/v3/mail/send", options.baseUrl).href,
          headers: {
            authorization: `Bearer ${Redacted.value(options.apiKey)}`,
            "content-type": "application/json"
          },
          body: JSON.stringify({
            personalizations: [{ to: [{ email: message.to }] }],
            from: parseAddress(options.from),
            subject: message.subject,
            content: [
              { type: "text/plain", value: message.text },
              ...(message.html === undefined ? [] : [{ type: "text/html", value: message.html }])
            ],
            ...(message.headers === undefined ? {} : { headers: message.headers }),
            ...(message.id === undefined ? {} : { custom_args: { tapline_message_id: message.id } })
          })
        },
        options.timeout
      )
  })

export const layer = (options: SendGridOptions) => Layer.succeed(Email, make(options))

export const config = Config.all({
  apiKey: Config.option(Config.redacted("SENDGRID_API_KEY")),
  baseUrl: Config.string("SENDGRID_BASE_URL").pipe(Config.withDefault("https://api.sendgrid.com"))
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.flatMap(config, (own) =>
    Effect.map(required("sendgrid", own.apiKey, "SENDGRID_API_KEY"), (apiKey) =>
      make({ apiKey, baseUrl: own.baseUrl, ...shared })
    )
  )

export const layerConfig = (shared: SharedSettings) => Layer.effect(Email, fromConfig(shared))
