import { Apple } from "arctic"
import { identityFromClaims, verifyIdToken } from "./IdTokens.js"
import { failure, type OAuthProvider, type ProviderSettings } from "./OAuthProvider.js"

/** The PEM's base64 body as bytes: arctic signs Apple's client-secret JWT with this PKCS#8 key. */
const pkcs8 = (pem: string) =>
  new Uint8Array(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64"))

/**
 * Sign in with Apple. Apple takes no PKCE verifier in arctic and, when asked for the email, answers with a
 * form post (`response_mode=form_post`). Apple relay addresses arrive verified.
 */
export const make = (config: ProviderSettings): OAuthProvider => {
  const { keyId, teamId } = config.settings
  if (config.clientSecret === null || teamId === undefined || keyId === undefined) {
    throw new Error(
      `provider ${config.id}: Apple needs the private key as client secret, and teamId and keyId`
    )
  }
  const apple = new Apple(config.clientId, teamId, keyId, pkcs8(config.clientSecret), config.redirectUri)
  return {
    pkce: false,
    formPost: true,
    authorizationUrl: async ({ nonce, state }) => {
      const url = apple.createAuthorizationURL(state, ["name", "email"])
      url.searchParams.set("response_mode", "form_post")
      url.searchParams.set("nonce", nonce)
      return url
    },
    identity: async (code, { nonce }) => {
      const tokens = await apple
        .validateAuthorizationCode(code)
        .catch(failure("exchange", "Apple refused the authorization code"))
      const claims = await verifyIdToken(tokens.idToken(), {
        jwksUri: "https://appleid.apple.com/auth/keys",
        issuer: "https://appleid.apple.com",
        audience: config.clientId,
        nonce
      })
      // Apple's id_token carries no name (it is posted once, unsigned, in the `user` field).
      return { ...identityFromClaims(claims), name: null }
    }
  }
}
