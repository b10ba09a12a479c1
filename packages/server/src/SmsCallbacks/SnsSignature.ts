import { createVerify } from "node:crypto"

/** An SNS HTTP(S) message as its JSON body carries it: every field a string (absent ones undefined). */
export interface SnsMessage {
  readonly Type: string
  readonly MessageId: string
  readonly TopicArn: string
  readonly Message: string
  readonly Timestamp: string
  readonly SignatureVersion: string
  readonly Signature: string
  readonly SigningCertURL: string
  readonly Subject?: string | undefined
  readonly Token?: string | undefined
  readonly SubscribeURL?: string | undefined
}

export const SNS_TYPES = ["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"] as const

const REQUIRED = [
  "Type",
  "MessageId",
  "TopicArn",
  "Message",
  "Timestamp",
  "SignatureVersion",
  "Signature",
  "SigningCertURL"
]
const OPTIONAL = ["Subject", "Token", "SubscribeURL"]

/** The body as an SNS message, or undefined when it is not one (a field missing or not a string). */
export const parseSnsMessage = (body: unknown): SnsMessage | undefined => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined
  const record = body as Record<string, unknown>
  for (const key of REQUIRED) if (typeof record[key] !== "string") return undefined
  for (const key of OPTIONAL)
    if (record[key] !== undefined && typeof record[key] !== "string") return undefined
  if (!(SNS_TYPES as ReadonlyArray<string>).includes(record.Type as string)) return undefined
  return record as unknown as SnsMessage
}

/**
 * The string SNS signs, as its documentation lists it: for a Notification, Message, MessageId, Subject (only
 * when present), Timestamp, TopicArn and Type; for the two subscription confirmations, Message, MessageId,
 * SubscribeURL, Timestamp, Token, TopicArn and Type. Each as the name, a newline, the value, a newline.
 */
export const snsStringToSign = (message: SnsMessage): string => {
  const keys =
    message.Type === "Notification"
      ? [
          "Message",
          "MessageId",
          ...(message.Subject === undefined ? [] : ["Subject"]),
          "Timestamp",
          "TopicArn",
          "Type"
        ]
      : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
  const record = message as unknown as Record<string, string | undefined>
  return keys.map((key) => `${key}\n${record[key] ?? ""}\n`).join("")
}

/** SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA; anything else is refused. */
export const verifySnsSignature = (message: SnsMessage, certificatePem: string): boolean => {
  const algorithm =
    message.SignatureVersion === "1" ? "RSA-SHA1" : message.SignatureVersion === "2" ? "RSA-SHA256" : null
  if (algorithm === null) return false
  try {
    return createVerify(algorithm)
      .update(snsStringToSign(message), "utf8")
      .verify(certificatePem, Buffer.from(message.Signature, "base64"))
  } catch {
    // A certificate that does not parse verifies nothing.
    return false
  }
}

const AMAZON_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/

/**
 * Whether a URL in an SNS message may be fetched: https on `sns.<region>.amazonaws.com` (what AWS's own
 * message validators accept), and for a SigningCertURL a `.pem`. Anything else is an attacker's certificate
 * (or a request we would be made to send). `testHost` (SNS_TRUSTED_CERT_HOST, FOR TESTS ONLY) additionally
 * trusts that one host:port over http or https, so a test can serve its own certificate.
 */
export const trustedSnsUrl = (
  url: string,
  testHost: string | undefined,
  options: { readonly certificate: boolean }
): boolean => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  if (parsed.username !== "" || parsed.password !== "") return false
  if (options.certificate && !parsed.pathname.endsWith(".pem")) return false
  if (testHost !== undefined && testHost !== "" && parsed.host === testHost)
    return parsed.protocol === "https:" || parsed.protocol === "http:"
  return parsed.protocol === "https:" && parsed.port === "" && AMAZON_HOST.test(parsed.hostname)
}
