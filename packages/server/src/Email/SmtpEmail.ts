import { Config, Duration, Effect, Layer, Redacted } from "effect"
import { Email, EmailError } from "./Email.js"
import { required, type SharedSettings } from "./EmailConfig.js"

export interface SmtpOptions {
  readonly url: Redacted.Redacted
  readonly from: string
  /** Connecting, the greeting and each reply of the server, before the next provider is tried. */
  readonly timeout: Duration.DurationInput
  /**
   * Connections kept open and reused (nodemailer's pool). A connection per message paid the connect, the
   * greeting (smtp-server holds it 100 ms) and EHLO every time: about 150 ms a message, which capped a
   * journey's sender far below a provider's 100 messages a second (bench:journeys).
   */
  readonly maxConnections?: number
}

/**
 * SMTP's own verdict: a 5xx reply is permanent (the server refused this message or mailbox), a 4xx or a
 * connection that failed is transient. A message nodemailer refuses itself (`EENVELOPE` with no reply code:
 * no recipient, a malformed address) is permanent too: every retry and every provider would refuse it.
 */
const toEmailError = (cause: unknown) => {
  const error = cause as Error & { responseCode?: number; code?: string }
  const code = error.responseCode
  // A recipient refused by the server is EENVELOPE too, with the server's code; without one, nodemailer refused.
  const permanent = code !== undefined ? code >= 500 : error.code === "EENVELOPE"
  // The URL carries credentials: the error says what failed, not where to.
  return new EmailError({
    provider: "smtp",
    failure: permanent ? "permanent" : "transient",
    message: `SMTP send failed: ${error.message}`,
    cause
  })
}

/** SMTP through nodemailer: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`. */
export const make = (options: SmtpOptions) =>
  Effect.gen(function* () {
    // Loaded here, not at start: a server that sends no SMTP never loads nodemailer.
    const { createTransport } = yield* Effect.promise(() => import("nodemailer"))
    const { parseConnectionUrl } = yield* Effect.promise(() => import("nodemailer/lib/shared/index.js"))
    const millis = Duration.toMillis(options.timeout)
    // The URL taken apart here: given as `url`, nodemailer reads nothing else of the options (neither the pool
    // nor these deadlines, which were silently unused before).
    const transport = createTransport({
      ...parseConnectionUrl(Redacted.value(options.url)),
      pool: true,
      maxConnections: options.maxConnections ?? 8,
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
              ...(message.headers === undefined ? {} : { headers: { ...message.headers } }),
              ...(message.id === undefined ? {} : { messageId: `<${message.id}@tapline>` })
            }),
          catch: toEmailError
        }).pipe(Effect.asVoid, Effect.withSpan("Email.send", { attributes: { "email.provider": "smtp" } }))
    })
  })

export const layer = (options: SmtpOptions) => Layer.scoped(Email, make(options))

/** smtp://user:pass@host:port or smtps://…; required with the smtp provider. */
export const config = Config.all({
  url: Config.option(Config.redacted("SMTP_URL")),
  maxConnections: Config.integer("SMTP_MAX_CONNECTIONS").pipe(Config.withDefault(8))
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.flatMap(config, (own) =>
    Effect.flatMap(required("smtp", own.url, "SMTP_URL"), (url) =>
      make({ url, maxConnections: own.maxConnections, ...shared })
    )
  )

export const layerConfig = (shared: SharedSettings) => Layer.scoped(Email, fromConfig(shared))
