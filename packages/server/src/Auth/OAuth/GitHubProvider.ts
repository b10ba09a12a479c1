import { GitHub } from "arctic"
import { failure, type OAuthProvider, type ProviderSettings } from "./OAuthProvider.js"

const api = async <A>(path: string, accessToken: string): Promise<A> => {
  const response = await fetch(`https://api.github.com${path}`, {
    headers: {
      authorization: `Bearer ${accessToken}`,
      accept: "application/vnd.github+json",
      "user-agent": "tapline"
    },
    signal: AbortSignal.timeout(5_000)
  }).catch(failure("profile", "GitHub API unreachable"))
  if (!response.ok) failure("profile", `GitHub API ${path} answered ${response.status}`)(null)
  return (await response.json()) as A
}

/**
 * GitHub (OAuth 2.0, no id_token). arctic 3.7's GitHub client takes no PKCE verifier, so the flow relies on
 * state and the client secret. The email is the primary address GitHub marks verified.
 */
export const make = (config: ProviderSettings): OAuthProvider => {
  const github = new GitHub(config.clientId, config.clientSecret ?? "", config.redirectUri)
  return {
    pkce: false,
    formPost: false,
    authorizationUrl: async ({ state }) => github.createAuthorizationURL(state, ["read:user", "user:email"]),
    identity: async (code) => {
      const tokens = await github
        .validateAuthorizationCode(code)
        .catch(failure("exchange", "GitHub refused the authorization code"))
      const accessToken = tokens.accessToken()
      const user = await api<{ id: number; name: string | null; login: string }>("/user", accessToken)
      const emails = await api<ReadonlyArray<{ email: string; primary: boolean; verified: boolean }>>(
        "/user/emails",
        accessToken
      )
      const primary = emails.find((entry) => entry.primary)
      return {
        subject: String(user.id),
        email: primary?.email ?? null,
        emailVerified: primary?.verified === true,
        name: user.name ?? user.login
      }
    }
  }
}
