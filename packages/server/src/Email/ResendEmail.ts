import { Config, type Duration, Effect, Layer, Redacted } from "effect"
import { Email } from "./Email.js"
import { required, type SharedSettings } from "./EmailConfig.js"
import { post } from "./HttpEmail.js"

export interface ResendOptions {
  readonly apiKey: Redacted.Redacted
  readonly from: string
  /** https://api.resend.com; a test points it at its loopback peer. */
  readonly baseUrl: string
  readonly timeout: Duration.DurationInput
}

/**
 * Resend: `POST /emails` with a bearer key; the message id is its Idempotency-Key, so a retry never sends twice.
 * Extra headers (a journey's List-Unsubscribe) go in the body's `headers` object.
 */
export const make = (options: ResendOptions) =>
  Email.of({
    provider: "resend",
    send: (message) =>
      post(
        "resend",
        {
          url: new URL("/emails", options.baseUrl).href,
          headers: {
            authorization: `Bearer ${Redacted.value(options.apiKey)}`,
            "content-type": "application/json",
            ...(message.id === undefined ? {} : { "idempotency-key": message.id })
          },
          body: JSON.stringify({
            from: options.from,
            to: [message.to],
            subject: message.subject,
            text: message.text,
            ...(message.html === undefined ? {} : { html: message.html }),
            ...(message.headers === undefined ? {} : { headers: message.headers })
          })
        },
        options.timeout
      )
  })

export const layer = (options: ResendOptions) => Layer.succeed(Email, make(options))

export const config = Config.all({
  apiKey: Config.option(Config.redacted("RESEND_API_KEY")),
  baseUrl: Config.string("RESEND_BASE_URL").pipe(Config.withDefault("https://api.resend.com"))
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.flatMap(config, (own) =>
    Effect.map(required("resend", own.apiKey, "RESEND_API_KEY"), (apiKey) =>
      make({ apiKey, baseUrl: own.baseUrl, ...shared })
    )
  )

export const layerConfig = (shared: SharedSettings) => Layer.effect(Email, fromConfig(shared))
