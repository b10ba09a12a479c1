import { CodeChallengeMethod, OAuth2Client } from "arctic"
import { identityFromClaims, verifyIdToken } from "./IdTokens.js"
import { failure, type OAuthProvider, type ProviderSettings } from "./OAuthProvider.js"

interface Discovery {
  readonly issuer: string
  readonly authorization_endpoint: string
  readonly token_endpoint: string
  readonly jwks_uri: string
  readonly userinfo_endpoint?: string
}

const DISCOVERY_TTL_MS = 60 * 60 * 1000
const discoveries = new Map<string, { readonly at: number; readonly document: Promise<Discovery> }>()

const fetchDiscovery = async (issuer: string): Promise<Discovery> => {
  const response = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(5_000)
  })
  if (!response.ok) throw new Error(`discovery answered ${response.status}`)
  const document = (await response.json()) as Discovery
  // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
  if (document.issuer !== issuer) throw new Error(`discovery names issuer ${document.issuer}, not ${issuer}`)
  for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
    if (typeof document[field] !== "string") throw new Error(`discovery has no ${field}`)
  }
  return document
}

/** Discovery documents are cached for an hour; a failed fetch is forgotten at once. */
const discover = (issuer: string) => {
  const cached = discoveries.get(issuer)
  if (cached !== undefined && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.document
  const document = fetchDiscovery(issuer)
  discoveries.set(issuer, { at: Date.now(), document })
  document.catch(() => discoveries.delete(issuer))
  return document.catch(failure("configuration", `OIDC discovery of ${issuer} failed`))
}

/** Any OpenID Connect provider (Keycloak, Okta, Auth0, …) configured by its issuer URL. */
export const make = (config: ProviderSettings): OAuthProvider => {
  if (config.issuer === null) throw new Error(`provider ${config.id}: an oidc provider needs an issuer`)
  const issuer = config.issuer
  const client = new OAuth2Client(config.clientId, config.clientSecret, config.redirectUri)
  return {
    pkce: true,
    formPost: false,
    authorizationUrl: async ({ codeVerifier, nonce, state }) => {
      const { authorization_endpoint } = await discover(issuer)
      const url = client.createAuthorizationURLWithPKCE(
        authorization_endpoint,
        state,
        CodeChallengeMethod.S256,
        codeVerifier,
        ["openid", "email", "profile"]
      )
      url.searchParams.set("nonce", nonce)
      return url
    },
    identity: async (code, { codeVerifier, nonce }) => {
      const document = await discover(issuer)
      const tokens = await client
        .validateAuthorizationCode(document.token_endpoint, code, codeVerifier)
        .catch(failure("exchange", "the provider refused the authorization code"))
      const idToken = await Promise.resolve()
        .then(() => tokens.idToken())
        .catch(failure("id_token", "the provider returned no id_token"))
      const claims = await verifyIdToken(idToken, {
        jwksUri: document.jwks_uri,
        issuer,
        audience: config.clientId,
        nonce
      })
      const identity = identityFromClaims(claims)
      if (identity.email !== null || document.userinfo_endpoint === undefined) return identity
      // Providers that conform strictly put scope-requested claims in userinfo only.
      const profile = await fetchUserInfo(document.userinfo_endpoint, tokens.accessToken())
      if (profile.sub !== identity.subject) failure("profile", "userinfo is about another subject")(null)
      return {
        ...identity,
        email: typeof profile.email === "string" ? profile.email : null,
        emailVerified: profile.email_verified === true,
        name: identity.name ?? (typeof profile.name === "string" ? profile.name : null)
      }
    }
  }
}

const fetchUserInfo = async (endpoint: string, accessToken: string) => {
  const response = await fetch(endpoint, {
    headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
    signal: AbortSignal.timeout(5_000)
  }).catch(failure("profile", "userinfo unreachable"))
  if (!response.ok) failure("profile", `userinfo answered ${response.status}`)(null)
  return (await response.json()) as Record<string, unknown>
}
