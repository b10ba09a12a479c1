import { Effect, Layer, Redacted } from "effect"
import { createTransport } from "nodemailer"
import { Email, EmailError } from "./Email.js"

/** SMTP through nodemailer: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`. */
export const make = (options: { readonly url: Redacted.Redacted; readonly from: string }) =>
  Effect.gen(function* () {
    const transport = createTransport(Redacted.value(options.url))
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
              ...(message.html === undefined ? {} : { html: message.html })
            }),
          // The URL carries credentials: the error says what failed, not where to.
          catch: (cause) =>
            new EmailError({
              provider: "smtp",
              message: `SMTP send failed: ${(cause as Error).message}`,
              cause
            })
        }).pipe(Effect.asVoid, Effect.withSpan("Email.send", { attributes: { "email.provider": "smtp" } }))
    })
  })

export const layer = (options: { readonly url: Redacted.Redacted; readonly from: string }) =>
  Layer.scoped(Email, make(options))
