import { MicrosoftEntraId } from "arctic"
import { identityFromClaims, verifyIdToken } from "./IdTokens.js"
import { failure, type OAuthProvider, type ProviderSettings } from "./OAuthProvider.js"

/** Tenants that stand for many directories: the issuer then names the user's own tenant (`tid`). */
const MULTI_TENANT = new Set(["common", "organizations", "consumers"])

/**
 * Microsoft Entra ID. Its `email` claim is not verified by default: an email counts as verified only with the
 * optional claim `xms_edov` (the email's domain is verified by the tenant). Other users link their account
 * through the signed-in linking flow.
 */
export const make = (config: ProviderSettings): OAuthProvider => {
  const tenant = config.issuer ?? "common"
  const entra = new MicrosoftEntraId(tenant, config.clientId, config.clientSecret, config.redirectUri)
  return {
    pkce: true,
    formPost: false,
    authorizationUrl: async ({ codeVerifier, nonce, state }) => {
      const url = entra.createAuthorizationURL(state, codeVerifier, ["openid", "email", "profile"])
      url.searchParams.set("nonce", nonce)
      return url
    },
    identity: async (code, { codeVerifier, nonce }) => {
      const tokens = await entra
        .validateAuthorizationCode(code, codeVerifier)
        .catch(failure("exchange", "Entra ID refused the authorization code"))
      const claims = await verifyIdToken(tokens.idToken(), {
        jwksUri: `https://login.microsoftonline.com/${tenant}/discovery/v2.0/keys`,
        issuer: (issuer, payload) =>
          MULTI_TENANT.has(tenant)
            ? typeof payload.tid === "string" &&
              issuer === `https://login.microsoftonline.com/${payload.tid}/v2.0`
            : issuer === `https://login.microsoftonline.com/${tenant}/v2.0`,
        audience: config.clientId,
        nonce
      })
      // `sub` is per application; `oid` would be stable across applications, which we do not need.
      return {
        ...identityFromClaims(claims),
        emailVerified: claims.xms_edov === true || claims.xms_edov === "1"
      }
    }
  }
}
