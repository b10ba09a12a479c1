import { Config, type Duration, Effect, Layer, Redacted } from "effect"
import { Email } from "./Email.js"
import { required, type SharedSettings } from "./EmailConfig.js"
import { post } from "./HttpEmail.js"

export interface PostmarkOptions {
  readonly serverToken: Redacted.Redacted
  readonly from: string
  /** https://api.postmarkapp.com; a test points it at its loopback peer. */
  readonly baseUrl: string
  /** Postmark separates transactional from broadcast mail by stream; ours is transactional. */
  readonly messageStream: string
  readonly timeout: Duration.DurationInput
}

/**
 * Postmark: `POST /email` with the server token in X-Postmark-Server-Token; extra headers as its `Headers` list of
 * `{ Name, Value }`.
 */
export const make = (options: PostmarkOptions) =>
  Email.of({
    provider: "postmark",
    send: (message) =>
      post(
        "postmark",
        {
          url: new URL("/email", options.baseUrl).href,
          headers: {
            accept: "application/json",
            "content-type": "application/json",
            "x-postmark-server-token": Redacted.value(options.serverToken)
          },
          body: JSON.stringify({
            From: options.from,
            To: message.to,
            Subject: message.subject,
            TextBody: message.text,
            ...(message.html === undefined ? {} : { HtmlBody: message.html }),
            ...(message.headers === undefined
              ? {}
              : { Headers: Object.entries(message.headers).map(([Name, Value]) => ({ Name, Value })) }),
            MessageStream: options.messageStream
          })
        },
        options.timeout
      )
  })

export const layer = (options: PostmarkOptions) => Layer.succeed(Email, make(options))

export const config = Config.all({
  serverToken: Config.option(Config.redacted("POSTMARK_SERVER_TOKEN")),
  baseUrl: Config.string("POSTMARK_BASE_URL").pipe(Config.withDefault("https://api.postmarkapp.com")),
  messageStream: Config.string("POSTMARK_MESSAGE_STREAM").pipe(Config.withDefault("outbound"))
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.flatMap(config, (own) =>
    Effect.map(required("postmark", own.serverToken, "POSTMARK_SERVER_TOKEN"), (serverToken) =>
      make({ serverToken, baseUrl: own.baseUrl, messageStream: own.messageStream, ...shared })
    )
  )

export const layerConfig = (shared: SharedSettings) => Layer.effect(Email, fromConfig(shared))
