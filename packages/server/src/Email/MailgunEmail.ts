import { type Duration, Layer, Redacted } from "effect"
import { Email } from "./Email.js"
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
