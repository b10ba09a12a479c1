import { createHash, createHmac } from "node:crypto"
import { sameSignature } from "./Compare.js"

/** The signature methods a Vonage account can choose in its dashboard (SMS API signed webhooks). */
export const VONAGE_METHODS = ["md5hash", "md5", "sha1", "sha256", "sha512"] as const
export type VonageMethod = (typeof VONAGE_METHODS)[number]

/**
 * The string Vonage signs: every parameter but `sig`, sorted by name, each as `&name=value`, with `&` and `=`
 * inside a value replaced by `_` (so a value cannot forge a parameter boundary). The signed parameters include
 * `timestamp` (Unix seconds), which is how an old callback is told from a fresh one.
 */
export const vonageSignedString = (params: ReadonlyArray<readonly [string, string]>): string =>
  params
    .filter(([name]) => name !== "sig")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `&${name}=${value.replace(/[&=]/g, "_")}`)
    .join("")

/**
 * Vonage's documented methods: `md5hash` is the MD5 of the string followed by the secret (lowercase hex);
 * the others are an HMAC of the string keyed by the secret (uppercase hex).
 */
export const vonageSignature = (
  secret: string,
  method: VonageMethod,
  params: ReadonlyArray<readonly [string, string]>
): string => {
  const signed = vonageSignedString(params)
  if (method === "md5hash")
    return createHash("md5")
      .update(signed + secret, "utf8")
      .digest("hex")
  return createHmac(method, secret).update(signed, "utf8").digest("hex").toUpperCase()
}

/** Hex compared without regard to case: Vonage's libraries differ in the case they send. */
export const verifyVonage = (
  secret: string,
  method: VonageMethod,
  params: ReadonlyArray<readonly [string, string]>
): boolean => {
  const given = params.find(([name]) => name === "sig")?.[1]
  return (
    given !== undefined &&
    given.length > 0 &&
    sameSignature(vonageSignature(secret, method, params).toLowerCase(), given.toLowerCase())
  )
}
