import { Data } from "effect"
import type { OutboundClient } from "../../Outbound/OutboundClient.js"
import type { OutboundPolicy } from "../../Outbound/OutboundPolicy.js"

/** Who the provider says signed in. `emailVerified` is the provider's word, never a guess of ours. */
export interface ProviderIdentity {
  readonly subject: string
  readonly email: string | null
  readonly emailVerified: boolean
  readonly name: string | null
}

/** One sign-in attempt's secrets, generated at the start and kept in the state cookie until the callback. */
export interface FlowSecrets {
  readonly state: string
  readonly codeVerifier: string
  readonly nonce: string
}

/** Why a provider step failed; `reason` becomes the sign-in page's `?error=`. */
export class OAuthFailure extends Data.TaggedError("OAuthFailure")<{
  readonly reason: "exchange" | "id_token" | "profile" | "configuration"
  readonly message: string
  readonly cause?: unknown
  /** The URL the failing request went to, for the operator's log (never shown to the person signing in). */
  readonly url?: string
}> {}

/** A discovery document that cannot be used: not found, not JSON, another issuer's, an endpoint missing. */
export class DiscoveryInvalid extends Error {
  readonly _tag = "DiscoveryInvalid"
  override readonly name = "DiscoveryInvalid"
}

/**
 * One identity provider behind one interface, as arctic has one class per provider. `identity` exchanges the
 * code (with the PKCE verifier where the provider takes one) and returns the verified identity.
 */
export interface OAuthProvider {
  /** False for providers that take no PKCE verifier (GitHub in arctic 3.7, Apple). */
  readonly pkce: boolean
  /** Apple answers with a cross-site form post, so its state cookie needs `SameSite=None`. */
  readonly formPost: boolean
  readonly authorizationUrl: (secrets: FlowSecrets) => Promise<URL>
  readonly identity: (code: string, secrets: FlowSecrets) => Promise<ProviderIdentity>
}

/** A provider's stored configuration, with the client secret decrypted. */
export interface ProviderSettings {
  readonly id: string
  readonly kind: "github" | "google" | "entra" | "apple" | "oidc"
  readonly clientId: string
  readonly clientSecret: string | null
  readonly issuer: string | null
  readonly settings: Readonly<Record<string, string>>
  /** `<public origin>/api/v1/auth/oauth/<id>/callback` */
  readonly redirectUri: string
  /**
   * For the admin-given URLs this provider fetches from the server (OIDC discovery and its endpoints): the
   * policy answers early, the client's connections enforce it. Fixed providers' hosts are ours, not vetted.
   */
  readonly outbound: { readonly policy: OutboundPolicy; readonly client: OutboundClient }
}

/** A promise rejection handler that rethrows the cause as an `OAuthFailure` of the given reason. */
export const failure =
  (reason: OAuthFailure["reason"], message: string) =>
  (cause: unknown): never => {
    throw new OAuthFailure({ reason, message, cause })
  }
