import { CodeChallengeMethod, OAuth2Client } from "arctic"
import { identityFromClaims, verifyIdToken } from "./IdTokens.js"
import {
  DiscoveryInvalid,
  failure,
  OAuthFailure,
  type OAuthProvider,
  type ProviderSettings
} from "./OAuthProvider.js"

type Outbound = ProviderSettings["outbound"]

interface Discovery {
  readonly issuer: string
  readonly authorization_endpoint: string
  readonly token_endpoint: string
  readonly jwks_uri: string
  readonly userinfo_endpoint?: string
}

const DISCOVERY_TTL_MS = 60 * 60 * 1000
const discoveries = new Map<string, { readonly at: number; readonly document: Promise<Discovery> }>()

const isHttp = (value: unknown): value is string => {
  if (typeof value !== "string") return false
  try {
    const url = new URL(value)
    return url.protocol === "https:" || url.protocol === "http:"
  } catch {
    return false
  }
}

const discoveryUrl = (issuer: string) => `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`

const fetchDiscovery = async (issuer: string, outbound: Outbound): Promise<Discovery> => {
  const url = discoveryUrl(issuer)
  const response = await outbound.client.fetch(url, { signal: AbortSignal.timeout(5_000), redirect: "error" })
  if (!response.ok) throw new DiscoveryInvalid(`discovery answered ${response.status}`)
  const document = (await response.json().catch(() => {
    throw new DiscoveryInvalid("discovery is not JSON")
  })) as Discovery
  // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
  if (document.issuer !== issuer) {
    throw new DiscoveryInvalid(`discovery names issuer ${String(document.issuer)}, not ${issuer}`)
  }
  // The authorization endpoint goes into a Location header: never a javascript: or data: URL from a document.
  for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
    if (!isHttp(document[field])) throw new DiscoveryInvalid(`discovery has no http(s) ${field}`)
  }
  if (document.userinfo_endpoint !== undefined && !isHttp(document.userinfo_endpoint)) {
    throw new DiscoveryInvalid("discovery has a userinfo_endpoint that is not http(s)")
  }
  return document
}

/** Discovery documents are cached for an hour; a failed fetch is forgotten at once. */
const discover = (issuer: string, outbound: Outbound) => {
  const cached = discoveries.get(issuer)
  if (cached !== undefined && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.document
  const document = fetchDiscovery(issuer, outbound)
  discoveries.set(issuer, { at: Date.now(), document })
  document.catch(() => discoveries.delete(issuer))
  return document.catch((cause) => {
    throw new OAuthFailure({
      reason: "configuration",
      message: `OIDC discovery of ${issuer} failed`,
      cause,
      url: discoveryUrl(issuer)
    })
  })
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
      const { authorization_endpoint } = await discover(issuer, config.outbound)
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
      const document = await discover(issuer, config.outbound)
      // The server fetches these three itself: each is checked like the issuer was, and again at connect time.
      const vetted = (url: string) =>
        config.outbound.policy.vet(url).catch(failure("configuration", `${url} refused`))
      await vetted(document.token_endpoint)
      await vetted(document.jwks_uri)
      if (document.userinfo_endpoint !== undefined) await vetted(document.userinfo_endpoint)
      const tokens = await config.outbound.client
        .around(() => client.validateAuthorizationCode(document.token_endpoint, code, codeVerifier))
        .catch(failure("exchange", "the provider refused the authorization code"))
      const idToken = await Promise.resolve()
        .then(() => tokens.idToken())
        .catch(failure("id_token", "the provider returned no id_token"))
      const claims = await verifyIdToken(idToken, {
        jwksUri: document.jwks_uri,
        issuer,
        audience: config.clientId,
        nonce,
        fetch: config.outbound.client.fetch
      })
      const identity = identityFromClaims(claims)
      if (identity.email !== null || document.userinfo_endpoint === undefined) return identity
      // Providers that conform strictly put scope-requested claims in userinfo only.
      const profile = await fetchUserInfo(config.outbound, document.userinfo_endpoint, tokens.accessToken())
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

const fetchUserInfo = async (outbound: Outbound, endpoint: string, accessToken: string) => {
  const response = await outbound.client
    .fetch(endpoint, {
      headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
      signal: AbortSignal.timeout(5_000)
    })
    .catch(failure("profile", "userinfo unreachable"))
  if (!response.ok) failure("profile", `userinfo answered ${response.status}`)(null)
  return (await response.json()) as Record<string, unknown>
}
