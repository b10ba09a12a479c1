import { Context, Data, type Effect } from "effect"

export class EmailError extends Data.TaggedError("EmailError")<{
  readonly provider: string
  readonly message: string
  readonly cause?: unknown
}> {}

export interface EmailMessage {
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html?: string
}

/**
 * Outgoing email behind one interface, one small file per provider (SMTP, log; HTTP providers later),
 * chosen by EMAIL_PROVIDER. A failed send is an `EmailError`, never silence.
 */
export class Email extends Context.Tag("@tapline/server/Email")<
  Email,
  { readonly provider: string; readonly send: (message: EmailMessage) => Effect.Effect<void, EmailError> }
>() {}
