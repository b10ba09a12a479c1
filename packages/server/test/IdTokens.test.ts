import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose"
import { verifyIdToken } from "../src/Auth/OAuth/IdTokens.js"
import { OAuthFailure } from "../src/Auth/OAuth/OAuthProvider.js"

/*
 * id_token checks against a real JWKS endpoint on loopback: the provider's key signs good tokens; tokens
 * from another issuer, for another audience, expired, with another nonce or signed by another key fail.
 */

const providerKey = await generateKeyPair("RS256")
const strangerKey = await generateKeyPair("RS256")
const jwk = { ...(await exportJWK(providerKey.publicKey)), kid: "provider-1", alg: "RS256", use: "sig" }
const jwks = createServer((_request, response) => {
  response.setHeader("content-type", "application/json")
  response.end(JSON.stringify({ keys: [jwk] }))
})
await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve))
const jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`
afterAll(() => new Promise<void>((resolve) => jwks.close(() => resolve())))

const ISSUER = "https://login.example"
const AUDIENCE = "tapline-client"
const NONCE = "n-0S6_WzA2Mj"

const token = (
  claims: Record<string, unknown> = {},
  options: { key?: typeof providerKey.privateKey; expiresIn?: string } = {}
) =>
  new SignJWT({ nonce: NONCE, email: "ana@example.com", email_verified: true, ...claims })
    .setProtectedHeader({ alg: "RS256", kid: "provider-1" })
    .setIssuer((claims.iss as string | undefined) ?? ISSUER)
    .setAudience((claims.aud as string | undefined) ?? AUDIENCE)
    .setSubject("user-1")
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "5m")
    .sign(options.key ?? providerKey.privateKey)

const expectations = { jwksUri, issuer: ISSUER, audience: AUDIENCE, nonce: NONCE }

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error) => (error instanceof OAuthFailure ? `${error.reason}: ${error.message}` : String(error))
  )

describe("id_token verification", () => {
  it("accepts the provider's token", async () => {
    const payload = await verifyIdToken(await token(), expectations)
    expect(payload).toMatchObject({ sub: "user-1", email: "ana@example.com", iss: ISSUER })
  })

  it("refuses a token from another issuer", async () => {
    expect(await refusal(verifyIdToken(await token({ iss: "https://evil.example" }), expectations))).toBe(
      "id_token: id_token issuer https://evil.example is not the provider's"
    )
  })

  it("refuses a token for another audience", async () => {
    expect(await refusal(verifyIdToken(await token({ aud: "another-client" }), expectations))).toMatch(
      /^id_token: id_token refused: unexpected "aud" claim value/
    )
  })

  it("refuses an expired token, a token with another nonce, and one signed by another key", async () => {
    expect(await refusal(verifyIdToken(await token({}, { expiresIn: "-5m" }), expectations))).toMatch(
      /^id_token: id_token refused: "exp" claim timestamp check failed/
    )
    expect(await refusal(verifyIdToken(await token({ nonce: "replayed" }), expectations))).toBe(
      "id_token: id_token nonce does not match this sign-in"
    )
    expect(
      await refusal(verifyIdToken(await token({}, { key: strangerKey.privateKey }), expectations))
    ).toMatch(/^id_token: id_token refused: signature verification failed/)
  })

  it("checks a multi-tenant issuer with a function (Entra: the issuer names the token's tenant)", async () => {
    const check = {
      ...expectations,
      issuer: (issuer: string, payload: JWTPayload) => issuer === `https://login.example/${payload.tid}/v2.0`
    }
    const good = await token({ iss: "https://login.example/t-1/v2.0", tid: "t-1" })
    expect((await verifyIdToken(good, check)).tid).toBe("t-1")
    const forged = await token({ iss: "https://login.example/t-2/v2.0", tid: "t-1" })
    expect(await refusal(verifyIdToken(forged, check))).toMatch(/^id_token: id_token issuer/)
  })
})
