import { createHmac } from "node:crypto"
import { sameSignature } from "./Compare.js"

/**
 * Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed by the account's auth token,
 * over the full URL Twilio called (scheme, host, path and query, as configured in its console) followed by
 * every POST parameter sorted by name, each name immediately followed by its value. A name given twice
 * contributes each of its values, in sorted order (Twilio's own validators do the same).
 */
export const twilioSignature = (
  authToken: string,
  url: string,
  params: ReadonlyArray<readonly [string, string]>
): string => {
  const sorted = [...params].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
  const data = url + sorted.map(([name, value]) => name + value).join("")
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64")
}

export const verifyTwilio = (
  authToken: string,
  url: string,
  params: ReadonlyArray<readonly [string, string]>,
  header: string | undefined
): boolean =>
  header !== undefined && header.length > 0 && sameSignature(twilioSignature(authToken, url, params), header)
