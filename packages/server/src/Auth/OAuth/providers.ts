import * as AppleProvider from "./AppleProvider.js"
import * as EntraIdProvider from "./EntraIdProvider.js"
import * as GitHubProvider from "./GitHubProvider.js"
import * as GoogleProvider from "./GoogleProvider.js"
import type { OAuthProvider, ProviderSettings } from "./OAuthProvider.js"
import * as OidcProvider from "./OidcProvider.js"

const makers = {
  github: GitHubProvider.make,
  google: GoogleProvider.make,
  entra: EntraIdProvider.make,
  apple: AppleProvider.make,
  oidc: OidcProvider.make
} satisfies Record<ProviderSettings["kind"], (config: ProviderSettings) => OAuthProvider>

/** The provider for a stored configuration; throws when the configuration cannot work (a missing issuer). */
export const makeProvider = (config: ProviderSettings): OAuthProvider => makers[config.kind](config)
