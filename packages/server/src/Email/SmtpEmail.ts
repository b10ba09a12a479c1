import { Config, Duration, Effect, Layer, Redacted } from "effect"
import { Email, EmailError } from "./Email.js"
import { required, type SharedSettings } from "./EmailConfig.js"

export interface SmtpOptions {
  readonly url: Redacted.Redacted
  readonly from: string
  /** Connecting, the greeting and each reply of the server, before the next provider is tried. */
  readonly timeout: Duration.DurationInput
}

/**
 * SMTP's own verdict: a 5xx reply is permanent (the server refused this message or mailbox), a 4xx or a
 * connection that failed is transient.
 */
const toEmailError = (cause: unknown) => {
  const error = cause as Error & { responseCode?: number }
  const code = error.responseCode
  // The URL carries credentials: the error says what failed, not where to.
  return new EmailError({
    provider: "smtp",
    failure: code !== undefined && code >= 500 ? "permanent" : "transient",
    message: `SMTP send failed: ${error.message}`,
    cause
  })
}

/** SMTP through nodemailer: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`. */
export const make = (options: SmtpOptions) =>
  Effect.gen(function* () {
    // Loaded here, not at start: a server that sends no SMTP never loads nodemailer.
    const { createTransport } = yield* Effect.promise(() => import("nodemailer"))
    const millis = Duration.toMillis(options.timeout)
    const transport = createTransport({
      url: Redacted.value(options.url),
      connectionTimeout: millis,
      greetingTimeout: millis,
      socketTimeout: millis
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => transport.close()))
    return Email.of({
      provider: "smtp",
      send: (message) =>
        Effect.tryPromise({
          try: () =>
            transport.sendMail({
              from: options.from,
              to: message.to,
              subject: message.subject,
              text: message.text,
              ...(message.html === undefined ? {} : { html: message.html }),
              ...(message.id === undefined ? {} : { messageId: `<${message.id}@tapline>` })
            }),
          catch: toEmailError
        }).pipe(Effect.asVoid, Effect.withSpan("Email.send", { attributes: { "email.provider": "smtp" } }))
    })
  })

export const layer = (options: SmtpOptions) => Layer.scoped(Email, make(options))

/** smtp://user:pass@host:port or smtps://…; required with the smtp provider. */
export const config = Config.all({ url: Config.option(Config.redacted("SMTP_URL")) })

export const fromConfig = (shared: SharedSettings) =>
  Effect.flatMap(config, (own) =>
    Effect.flatMap(required("smtp", own.url, "SMTP_URL"), (url) => make({ url, ...shared }))
  )

export const layerConfig = (shared: SharedSettings) => Layer.scoped(Email, fromConfig(shared))
