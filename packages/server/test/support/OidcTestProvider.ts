import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import Provider from "oidc-provider"

export interface TestAccount {
  readonly email: string
  readonly email_verified: boolean
  readonly name?: string
  /** Entra's "email domain owner verified" optional claim. */
  readonly xms_edov?: boolean
}

export interface OidcTestProviderOptions {
  readonly issuer: (port: number) => string
  readonly clientId: string
  readonly clientSecret: string
  readonly redirectUris: ReadonlyArray<string>
  /** Sign-in names (what the dev login form takes) and the claims the provider asserts for them. */
  readonly accounts: Record<string, TestAccount>
  /** Google's endpoint paths, when the provider stands in for Google. */
  readonly routes?: Record<string, string>
  /** True: email claims in userinfo only, as strictly conforming providers do (not Google). */
  readonly conformIdTokenClaims?: boolean
}

export interface OidcTestProvider {
  readonly issuer: string
  /** Where it really listens (loopback), which differs from the issuer when it stands in for Google. */
  readonly origin: string
  readonly close: () => Promise<void>
}

/**
 * A real OpenID Provider (node-oidc-provider, certified) on loopback: authorization code with PKCE required,
 * signed id_tokens, JWKS, discovery, userinfo, and the dev login/consent forms a test posts.
 */
export const startOidcProvider = async (options: OidcTestProviderOptions): Promise<OidcTestProvider> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  const issuer = options.issuer(port)
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"]
      }
    ],
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified", "xms_edov"], profile: ["name"] },
    conformIdTokenClaims: options.conformIdTokenClaims ?? true,
    cookies: { keys: ["oidc-test-cookie-key"] },
    features: { devInteractions: { enabled: true } },
    findAccount: (_ctx: unknown, sub: string) => {
      const account = options.accounts[sub]
      if (account === undefined) return undefined
      return { accountId: sub, claims: async () => ({ sub, ...account }) }
    },
    ...(options.routes === undefined ? {} : { routes: options.routes })
  })
  // Behind the Google routing the request arrives over http with x-forwarded-proto: https.
  provider.proxy = true
  server.on("request", provider.callback())
  return {
    issuer,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
