import { createRemoteJWKSet, customFetch, type JWTPayload, jwtVerify } from "jose"
import { OAuthFailure, type ProviderIdentity } from "./OAuthProvider.js"

/** One key set per JWKS URL and fetch for the process: jose caches keys and refetches on an unknown `kid`. */
const keySets = new WeakMap<typeof fetch, Map<string, ReturnType<typeof createRemoteJWKSet>>>()

const keySet = (jwksUri: string, fetcher: typeof fetch) => {
  let sets = keySets.get(fetcher)
  if (sets === undefined) {
    sets = new Map()
    keySets.set(fetcher, sets)
  }
  let set = sets.get(jwksUri)
  if (set === undefined) {
    set = createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: 5_000,
      cooldownDuration: 30_000,
      [customFetch]: fetcher
    })
    sets.set(jwksUri, set)
  }
  return set
}

// Read at each call, so a test's routing of Node's fetch is seen.
const globalFetch: typeof fetch = (input, init) => globalThis.fetch(input, init)

export interface IdTokenExpectations {
  readonly jwksUri: string
  /** The issuer, or a check of it (Entra's multi-tenant issuer depends on the token's tenant). */
  readonly issuer: string | ReadonlyArray<string> | ((issuer: string, payload: JWTPayload) => boolean)
  readonly audience: string
  readonly nonce: string
  /** How the key set is fetched: an admin-given JWKS URL goes through the outbound client. */
  readonly fetch?: typeof fetch
}

/**
 * Verifies an id_token: signature against the provider's JWKS (asymmetric algorithms only), then issuer,
 * audience, expiry (jose, 60 s leeway for clock skew) and nonce. Any failure is an `id_token` failure.
 */
export const verifyIdToken = async (token: string, expected: IdTokenExpectations): Promise<JWTPayload> => {
  const fail = (message: string, cause?: unknown) => new OAuthFailure({ reason: "id_token", message, cause })
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, keySet(expected.jwksUri, expected.fetch ?? globalFetch), {
      audience: expected.audience,
      clockTolerance: 60,
      algorithms: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"],
      requiredClaims: ["iss", "sub", "aud", "exp", "iat"]
    }))
  } catch (cause) {
    throw fail(`id_token refused: ${(cause as Error).message}`, cause)
  }
  const issuer = payload.iss!
  const issuerOk =
    typeof expected.issuer === "function"
      ? expected.issuer(issuer, payload)
      : typeof expected.issuer === "string"
        ? issuer === expected.issuer
        : expected.issuer.includes(issuer)
  if (!issuerOk) throw fail(`id_token issuer ${issuer} is not the provider's`)
  if (payload.nonce !== expected.nonce) throw fail("id_token nonce does not match this sign-in")
  return payload
}

/** Providers write `email_verified` as a boolean or, Apple, as the string "true". */
export const emailVerifiedClaim = (payload: JWTPayload) =>
  payload.email_verified === true || payload.email_verified === "true"

export const stringClaim = (payload: JWTPayload, name: string) =>
  typeof payload[name] === "string" ? (payload[name] as string) : null

/** The identity an id_token states, in OpenID Connect's standard claims. */
export const identityFromClaims = (claims: JWTPayload): ProviderIdentity => ({
  subject: claims.sub!,
  email: stringClaim(claims, "email"),
  emailVerified: emailVerifiedClaim(claims),
  name: stringClaim(claims, "name")
})
