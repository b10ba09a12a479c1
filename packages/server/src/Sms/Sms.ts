import { Context, Data, type Effect } from "effect"

/**
 * Why a send failed, as the provider said it: `transient` (a 5xx, a timeout, a refused connection, a 429, a
 * rejected credential) may succeed through another provider or later; `permanent` (the provider refused this
 * message: a malformed, unreachable or opted-out number) fails the same way everywhere and is not retried.
 */
export type SmsFailure = "transient" | "permanent"

export class SmsError extends Data.TaggedError("SmsError")<{
  readonly provider: string
  readonly failure: SmsFailure
  readonly message: string
  /** A rate limit's Retry-After, in seconds, when the provider sent one. */
  readonly retryAfterSeconds?: number
  readonly cause?: unknown
}> {}

export interface SmsMessage {
  /** Stable across retries of the same message: providers that take a client reference get this one. */
  readonly id?: string
  /** E.164: "+" and up to 15 digits. */
  readonly to: string
  readonly text: string
}

export interface SmsReceipt {
  /** The provider that accepted the message (after failover, not always the first). */
  readonly provider: string
  /** The provider's own id for the message: its delivery-status callbacks name it. */
  readonly providerMessageId: string
}

export interface SmsShape {
  readonly provider: string
  readonly send: (message: SmsMessage) => Effect.Effect<SmsReceipt, SmsError>
}

/**
 * Outgoing SMS behind one interface, one small file per provider (Twilio, AWS SNS, Vonage, log), and `Failover`
 * over an ordered list of them (SMS_PROVIDERS), in the shape of `Email`.
 */
export class Sms extends Context.Tag("@tapline/server/Sms")<Sms, SmsShape>() {}
