import { createHash, createHmac } from "node:crypto"
import { sameSignature } from "./Compare.js"

/** The claims of a Vonage Messages API webhook's token that the callback needs. */
export interface VonageClaims {
  /** Issued at, Unix seconds: the replay window's clock. */
  readonly iat: number
  /** SHA-256 of the request body, hex: the token covers the body through it. */
  readonly payload_hash: string
}

const base64url = (data: Buffer) => data.toString("base64url")

const decodeJson = (part: string): unknown => {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"))
  } catch {
    return undefined
  }
}

/**
 * Vonage's Messages API signs webhooks with `Authorization: Bearer <JWT>`: HS256 keyed by the signature secret,
 * with `payload_hash`, the SHA-256 (hex) of the body. The token is checked (header HS256, signature in constant
 * time), then the body against its hash; the claims when both hold, undefined otherwise. Freshness (`iat`) is
 * the caller's, with the other providers' replay window.
 */
export const verifyVonageJwt = (
  secret: string,
  authorization: string | undefined,
  body: string
): VonageClaims | undefined => {
  const token = authorization?.startsWith("Bearer ") ? authorization.slice(7).trim() : undefined
  const parts = token?.split(".")
  if (parts === undefined || parts.length !== 3) return undefined
  const [header, payload, signature] = parts as [string, string, string]
  const alg = (decodeJson(header) as { alg?: unknown } | undefined)?.alg
  if (alg !== "HS256") return undefined
  const expected = base64url(createHmac("sha256", secret).update(`${header}.${payload}`).digest())
  if (!sameSignature(expected, signature)) return undefined
  const claims = decodeJson(payload) as Partial<VonageClaims> | undefined
  if (typeof claims?.iat !== "number" || typeof claims.payload_hash !== "string") return undefined
  const hash = createHash("sha256").update(body, "utf8").digest("hex")
  if (!sameSignature(hash, claims.payload_hash.toLowerCase())) return undefined
  return { iat: claims.iat, payload_hash: claims.payload_hash }
}

/** A token as Vonage makes one (tests sign their callbacks with it). */
export const signVonageJwt = (secret: string, body: string, iat: number): string => {
  const header = base64url(Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })))
  const payload = base64url(
    Buffer.from(
      JSON.stringify({
        iat,
        jti: `${iat}-${Math.random().toString(36).slice(2)}`,
        iss: "Vonage",
        payload_hash: createHash("sha256").update(body, "utf8").digest("hex")
      })
    )
  )
  const signature = base64url(createHmac("sha256", secret).update(`${header}.${payload}`).digest())
  return `${header}.${payload}.${signature}`
}
