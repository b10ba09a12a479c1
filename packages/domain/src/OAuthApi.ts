import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import {
  Conflict,
  Forbidden,
  InvalidRequest,
  NotFound,
  ServiceUnavailable,
  TooManyRequests,
  Unauthorized
} from "./Errors.js"
import { NoContent } from "./Params.js"

/** The provider's name in sign-in URLs: `/api/v1/auth/oauth/{providerId}/start`. */
export const OAuthProviderId = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9-]{0,39}$/),
  Schema.annotations({ examples: ["github", "acme-sso"] })
)
const providerId = HttpApiSchema.param("providerId", OAuthProviderId)

export const OAuthProviderKind = Schema.Literal("github", "google", "entra", "apple", "oidc")

/** What the sign-in page shows: one button per enabled provider. */
export const PublicOAuthProvider = Schema.Struct({
  id: Schema.String,
  kind: OAuthProviderKind,
  displayName: Schema.String
})

export const LinkedIdentity = Schema.Struct({
  providerId: Schema.String,
  email: Schema.NullOr(Schema.String),
  createdAt: Schema.DateTimeUtc,
  lastSignInAt: Schema.NullOr(Schema.DateTimeUtc)
})

const InvitationToken = Schema.String.pipe(Schema.pattern(/^tli_[A-Za-z0-9_-]{1,100}$/))

/** The provider's answer, by query (GET) or by form post (Apple's `response_mode=form_post`). */
export const OAuthCallbackParams = Schema.Struct({
  code: Schema.optional(Schema.String.pipe(Schema.maxLength(2000))),
  state: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  error: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  /** Apple posts the user's name once, as JSON, on the first sign-in. */
  user: Schema.optional(Schema.String.pipe(Schema.maxLength(2000)))
})

const redirect = HttpApiSchema.Empty(302)

export class OAuthApi extends HttpApiGroup.make("oauth")
  .add(
    HttpApiEndpoint.get("providers", "/api/v1/auth/providers")
      .addSuccess(Schema.Array(PublicOAuthProvider))
      .annotate(OpenApi.Description, "The enabled sign-in providers, for the sign-in page's buttons.")
  )
  .add(
    HttpApiEndpoint.get("start")`/api/v1/auth/oauth/${providerId}/start`
      .setUrlParams(Schema.Struct({ invitation: Schema.optional(InvitationToken) }))
      .addSuccess(redirect)
      .annotate(
        OpenApi.Description,
        "Sends the browser to the provider. State, PKCE verifier and nonce go into a short-lived encrypted " +
          "cookie, accepted once. With `invitation`, a first sign-in may create the invited user."
      )
  )
  .add(
    HttpApiEndpoint.get("callback")`/api/v1/auth/oauth/${providerId}/callback`
      .setUrlParams(OAuthCallbackParams)
      .addSuccess(redirect)
      .annotate(
        OpenApi.Description,
        "Where the provider sends the browser back. Ends on the sign-in page: signed in, asked for the second " +
          "factor (`#ticket=…`), or with `?error=<reason>`."
      )
  )
  .add(
    HttpApiEndpoint.post("callbackForm")`/api/v1/auth/oauth/${providerId}/callback`
      .setPayload(OAuthCallbackParams.pipe(HttpApiSchema.withEncoding({ kind: "UrlParams" })))
      .addSuccess(redirect)
      .annotate(OpenApi.Description, "The same callback for providers that post the answer (Apple).")
  )
  .add(
    HttpApiEndpoint.get("identities", "/api/v1/me/identities")
      .addSuccess(Schema.Array(LinkedIdentity))
      .middleware(Authentication)
      .annotate(OpenApi.Description, "The provider accounts you can sign in with.")
  )
  .add(
    HttpApiEndpoint.post("link")`/api/v1/me/identities/${providerId}`
      .addSuccess(Schema.Struct({ url: Schema.String }))
      .middleware(Authentication)
      .annotate(
        OpenApi.Description,
        "Starts linking a provider account to you: open `url` in this browser. The account is linked whatever " +
          "its email, because you are signed in."
      )
  )
  .add(
    HttpApiEndpoint.del("unlink")`/api/v1/me/identities/${providerId}`
      .addSuccess(NoContent)
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Unlinks a provider account; it can no longer sign you in.")
  )
  .addError(Unauthorized)
  .addError(Forbidden)
  .addError(NotFound)
  .addError(Conflict)
  .addError(InvalidRequest)
  .addError(TooManyRequests)
  .addError(ServiceUnavailable)
  .annotate(OpenApi.Title, "OAuth sign-in")
  .annotate(
    OpenApi.Description,
    "Sign-in with GitHub, Google, Microsoft Entra ID, Apple and OIDC providers."
  ) {}

export const OAuthProviderConfig = Schema.Struct({
  id: Schema.String,
  kind: OAuthProviderKind,
  displayName: Schema.String,
  clientId: Schema.String,
  /** Whether a client secret is stored; the secret itself is never shown. */
  hasClientSecret: Schema.Boolean,
  issuer: Schema.NullOr(Schema.String),
  settings: Schema.Record({ key: Schema.String, value: Schema.String }),
  enabled: Schema.Boolean,
  /**
   * The last time a sign-in could not use this provider, and why, as a category ("refused by the outbound
   * policy", "unreachable", "bad discovery document"); the server's log has the URL and the details. Null
   * once a sign-in through it succeeds.
   */
  lastError: Schema.NullOr(Schema.Struct({ category: Schema.String, at: Schema.DateTimeUtc }))
})

const Settings = Schema.Record({
  key: Schema.Literal("teamId", "keyId"),
  value: Schema.String.pipe(Schema.maxLength(100))
})

export const CreateOAuthProvider = Schema.Struct({
  id: OAuthProviderId,
  kind: OAuthProviderKind,
  displayName: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100)),
  clientId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(500)),
  /** Apple: the PKCS#8 private key (PEM) its client secrets are signed with. Stored encrypted. */
  clientSecret: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(10_000))),
  /** oidc: the issuer URL (discovery); entra: the tenant (id, domain, `common` or `organizations`). */
  issuer: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(500))),
  /** apple: `teamId` and `keyId`. */
  settings: Schema.optional(Settings),
  enabled: Schema.optional(Schema.Boolean)
}).annotations({
  examples: [
    {
      id: "acme-sso",
      kind: "oidc",
      displayName: "Acme SSO",
      clientId: "tapline",
      clientSecret: "…",
      issuer: "https://sso.acme.example/realms/main"
    } as never
  ]
})

export const UpdateOAuthProvider = Schema.Struct({
  displayName: Schema.optional(CreateOAuthProvider.fields.displayName),
  clientId: Schema.optional(CreateOAuthProvider.fields.clientId),
  clientSecret: CreateOAuthProvider.fields.clientSecret,
  issuer: CreateOAuthProvider.fields.issuer,
  settings: CreateOAuthProvider.fields.settings,
  enabled: Schema.optional(Schema.Boolean)
})

export class OAuthProvidersApi extends HttpApiGroup.make("oauthProviders")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/admin/oauth-providers")
      .addSuccess(Schema.Array(OAuthProviderConfig))
      .annotate(OpenApi.Description, "Every configured sign-in provider, secrets left out.")
  )
  .add(
    HttpApiEndpoint.post("create", "/api/v1/admin/oauth-providers")
      .setPayload(CreateOAuthProvider)
      .addSuccess(OAuthProviderConfig, { status: 201 })
      .annotate(
        OpenApi.Description,
        "Adds a sign-in provider. Its callback is `/api/v1/auth/oauth/{id}/callback`."
      )
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/admin/oauth-providers/${providerId}`
      .setPayload(UpdateOAuthProvider)
      .addSuccess(OAuthProviderConfig)
      .annotate(OpenApi.Description, "Changes a provider; a client secret given replaces the stored one.")
  )
  .add(
    HttpApiEndpoint.del("remove")`/api/v1/admin/oauth-providers/${providerId}`
      .addSuccess(NoContent)
      .annotate(OpenApi.Description, "Removes a provider and the identities linked through it.")
  )
  .middleware(Authentication)
  .addError(Unauthorized)
  .addError(Forbidden)
  .addError(NotFound)
  .addError(Conflict)
  .addError(InvalidRequest)
  .annotate(OpenApi.Title, "Sign-in providers")
  .annotate(OpenApi.Description, "Platform ADMIN only: the OAuth / OIDC providers users sign in with.") {}
