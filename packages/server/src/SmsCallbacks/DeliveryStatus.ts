import { stripControlCharacters } from "@tapline/domain"

/**
 * A delivery status as we keep it: the providers' many words folded into five. `queued` and `sent` are on
 * the way; `delivered`, `undelivered` (the carrier gave up) and `failed` (refused) are final.
 */
export type DeliveryStatus = "queued" | "sent" | "delivered" | "undelivered" | "failed"

/**
 * How far along a status is. A callback only ever moves a message forward: providers do not promise order,
 * and a late "sent" must not undo "delivered". The three final statuses rank alike, so the first final word
 * stands.
 */
export const rank = (status: DeliveryStatus): number => (status === "queued" ? 0 : status === "sent" ? 1 : 2)

const TWILIO: Readonly<Record<string, DeliveryStatus>> = {
  accepted: "queued",
  scheduled: "queued",
  queued: "queued",
  sending: "queued",
  sent: "sent",
  delivered: "delivered",
  read: "delivered",
  undelivered: "undelivered",
  failed: "failed",
  canceled: "failed"
}

/** Vonage SMS API delivery receipts (`status`), and the Messages API's (submitted, undeliverable, read). */
const VONAGE: Readonly<Record<string, DeliveryStatus>> = {
  accepted: "sent",
  submitted: "sent",
  undeliverable: "undelivered",
  read: "delivered",
  buffered: "sent",
  delivered: "delivered",
  expired: "undelivered",
  failed: "failed",
  rejected: "failed",
  unknown: "undelivered"
}

/**
 * AWS End User Messaging SMS events (`messageStatus`) and SNS's own SMS delivery log (`status`
 * SUCCESS/FAILURE).
 */
const SNS: Readonly<Record<string, DeliveryStatus>> = {
  PENDING: "queued",
  QUEUED: "queued",
  SUCCESSFUL: "sent",
  ACCEPTED: "sent",
  SENT: "sent",
  DELIVERED: "delivered",
  SUCCESS: "delivered",
  FAILURE: "failed",
  FAILED: "failed",
  INVALID: "failed",
  BLOCKED: "failed",
  OPTED_OUT: "failed",
  SPAM: "failed",
  CARRIER_BLOCKED: "failed",
  INVALID_MESSAGE: "failed",
  UNREACHABLE: "undelivered",
  UNKNOWN: "undelivered",
  CARRIER_UNREACHABLE: "undelivered",
  TTL_EXPIRED: "undelivered",
  MAX_PRICE_EXCEEDED: "failed"
}

const TABLES = { twilio: TWILIO, vonage: VONAGE, sns: SNS } as const
export type CallbackProvider = keyof typeof TABLES

/** The provider's word as one of ours; undefined for a word we do not know (the callback is not applied). */
export const normaliseStatus = (provider: CallbackProvider, word: string): DeliveryStatus | undefined => {
  const table = TABLES[provider]
  const key = provider === "sns" ? word.toUpperCase() : word.toLowerCase()
  // Own keys only: "constructor" is not a status.
  return Object.hasOwn(table, key) ? table[key] : undefined
}

export const MAX_DETAIL = 500

/** The provider's error code and text as shown to an operator: no control characters, 500 characters at most. */
export const deliveryDetail = (...parts: ReadonlyArray<string | undefined | null>): string | null => {
  const text = stripControlCharacters(
    parts.filter((p): p is string => typeof p === "string" && p.trim() !== "").join(": ")
  ).trim()
  return text === "" ? null : text.slice(0, MAX_DETAIL)
}
