import { createHmac, randomBytes } from "node:crypto"

/*
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of its key
 * bytes; a signature is `v1,` + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")); the
 * `webhook-signature` header lists one per secret in use, separated by spaces, so a receiver that knows
 * either the new or the previous secret during a rotation accepts the message.
 */

const PREFIX = "whsec_"

/** A new signing secret: 32 random bytes. */
export const newSecret = (): string => PREFIX + randomBytes(32).toString("base64")

const keyOf = (secret: string) =>
  Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64")

export const sign = (secret: string, id: string, timestampSeconds: number, body: string): string =>
  `v1,${createHmac("sha256", keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest("base64")}`

/** The three headers of a signed delivery. */
export const signedHeaders = (
  secrets: ReadonlyArray<string>,
  id: string,
  timestampSeconds: number,
  body: string
): Record<string, string> => ({
  "webhook-id": id,
  "webhook-timestamp": String(timestampSeconds),
  "webhook-signature": secrets.map((secret) => sign(secret, id, timestampSeconds, body)).join(" ")
})
