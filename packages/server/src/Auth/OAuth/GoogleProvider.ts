import { Google } from "arctic"
import { identityFromClaims, verifyIdToken } from "./IdTokens.js"
import { failure, type OAuthProvider, type ProviderSettings } from "./OAuthProvider.js"

const JWKS_URI = "https://www.googleapis.com/oauth2/v3/certs"
/** Google documents both spellings of its issuer. */
const ISSUERS = ["https://accounts.google.com", "accounts.google.com"]

export const make = (config: ProviderSettings): OAuthProvider => {
  const google = new Google(config.clientId, config.clientSecret ?? "", config.redirectUri)
  return {
    pkce: true,
    formPost: false,
    authorizationUrl: async ({ codeVerifier, nonce, state }) => {
      const url = google.createAuthorizationURL(state, codeVerifier, ["openid", "email", "profile"])
      url.searchParams.set("nonce", nonce)
      return url
    },
    identity: async (code, { codeVerifier, nonce }) => {
      const tokens = await google
        .validateAuthorizationCode(code, codeVerifier)
        .catch(failure("exchange", "Google refused the authorization code"))
      const claims = await verifyIdToken(tokens.idToken(), {
        jwksUri: JWKS_URI,
        issuer: ISSUERS,
        audience: config.clientId,
        nonce
      })
      return identityFromClaims(claims)
    }
  }
}
