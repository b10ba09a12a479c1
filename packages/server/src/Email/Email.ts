import { Context, Data, type Effect } from "effect"

/**
 * Why a send failed, as the provider said it: `transient` (a 5xx, a timeout, a refused connection, a rate
 * limit, a rejected credential) may succeed through another provider or later; `permanent` (the provider
 * refused this message: a malformed or suppressed address) will fail the same way everywhere and is not
 * retried.
 */
export type EmailFailure = "transient" | "permanent"

export class EmailError extends Data.TaggedError("EmailError")<{
  readonly provider: string
  readonly failure: EmailFailure
  readonly message: string
  /** A rate limit's Retry-After, in seconds, when the provider sent one. */
  readonly retryAfterSeconds?: number
  readonly cause?: unknown
}> {}

export interface EmailMessage {
  /** Stable across retries of the same message: providers that take an idempotency key get this one. */
  readonly id?: string
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html?: string
  /**
   * Extra headers, such as a journey's List-Unsubscribe (RFC 8058). SMTP sends them as they are; each HTTP provider
   * puts them in the field its API documents for custom headers (the contract suite holds every one to it).
   */
  readonly headers?: Readonly<Record<string, string>>
}

export interface EmailShape {
  readonly provider: string
  readonly send: (message: EmailMessage) => Effect.Effect<void, EmailError>
}

/**
 * Outgoing email behind one interface, one small file per provider (SMTP, Resend, Postmark, SES, SendGrid,
 * Mailgun, log), and `Failover` over an ordered list of them (EMAIL_PROVIDERS). A failed send is an
 * `EmailError`, never silence. Features do not call it directly: they enqueue through `Mailer`.
 */
export class Email extends Context.Tag("@tapline/server/Email")<Email, EmailShape>() {}

/** "Tapline <no-reply@x.example>" → its parts, for the providers that take them apart. */
export const parseAddress = (address: string): { readonly email: string; readonly name?: string } => {
  const match = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(address)
  if (match === null) return { email: address.trim() }
  const name = match[1]!.replace(/^"(.*)"$/, "$1")
  return name.length === 0 ? { email: match[2]!.trim() } : { email: match[2]!.trim(), name }
}
