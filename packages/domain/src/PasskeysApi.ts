import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound, TooManyRequests, Unauthorized } from "./Errors.js"
import { NoContent } from "./Params.js"
import { SessionTokens } from "./SessionsApi.js"

export const PasskeyId = Schema.UUID.pipe(Schema.brand("PasskeyId"))
export type PasskeyId = typeof PasskeyId.Type
const passkeyId = HttpApiSchema.param("passkeyId", PasskeyId)

const PasskeyName = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))

export const Passkey = Schema.Struct({
  id: PasskeyId,
  name: PasskeyName,
  /** `multiDevice`: synced (iCloud Keychain, Google Password Manager); `singleDevice`: a security key. */
  deviceType: Schema.String,
  backedUp: Schema.Boolean,
  createdAt: Schema.DateTimeUtc,
  lastUsedAt: Schema.NullOr(Schema.DateTimeUtc)
})

/**
 * A WebAuthn credential as the browser serialises it (`PublicKeyCredential.toJSON()`); @simplewebauthn/server
 * checks its content. Bounded here so a huge body is refused before any parsing.
 */
export const CredentialJson = Schema.Struct({
  id: Schema.String.pipe(Schema.maxLength(1400)),
  rawId: Schema.String.pipe(Schema.maxLength(1400)),
  type: Schema.Literal("public-key"),
  response: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  clientExtensionResults: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), {
    default: () => ({})
  }),
  authenticatorAttachment: Schema.optional(Schema.NullOr(Schema.String))
})

/** Options for `navigator.credentials.create` / `.get`, as JSON (`PublicKeyCredential.parse…FromJSON`). */
const WebAuthnOptions = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const PasskeySignInResult = Schema.Union(
  SessionTokens,
  Schema.Struct({
    /** TOTP is on: complete with `POST /api/v1/auth/second-factor`. */
    secondFactorTicket: Schema.String
  })
)

export class PasskeysApi extends HttpApiGroup.make("passkeys")
  .add(
    HttpApiEndpoint.post("registrationOptions", "/api/v1/me/passkeys/registration-options")
      .addSuccess(WebAuthnOptions)
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Starts adding a passkey: options for navigator.credentials.create.")
  )
  .add(
    HttpApiEndpoint.post("register", "/api/v1/me/passkeys")
      .setPayload(Schema.Struct({ credential: CredentialJson, name: Schema.optional(PasskeyName) }))
      .addSuccess(Passkey, { status: 201 })
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Adds the passkey the browser created (at most 10 per user).")
  )
  .add(
    HttpApiEndpoint.get("list", "/api/v1/me/passkeys")
      .addSuccess(Schema.Array(Passkey))
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Your passkeys.")
  )
  .add(
    HttpApiEndpoint.patch("rename")`/api/v1/me/passkeys/${passkeyId}`
      .setPayload(Schema.Struct({ name: PasskeyName }))
      .addSuccess(Passkey)
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Renames one of your passkeys.")
  )
  .add(
    HttpApiEndpoint.del("remove")`/api/v1/me/passkeys/${passkeyId}`
      .addSuccess(NoContent)
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Deletes one of your passkeys; it can no longer sign you in.")
  )
  .add(
    HttpApiEndpoint.post("signInOptions", "/api/v1/auth/passkey/options")
      .addSuccess(WebAuthnOptions)
      .annotate(
        OpenApi.Description,
        "Starts a passkey sign-in without a user name (discoverable credentials): options for " +
          "navigator.credentials.get. The challenge works once, for AUTH_CHALLENGE_TTL (5 minutes)."
      )
  )
  .add(
    HttpApiEndpoint.post("signIn", "/api/v1/auth/passkey")
      .setPayload(
        Schema.Struct({
          credential: CredentialJson,
          transport: Schema.optionalWith(Schema.Literal("cookie", "bearer"), {
            default: () => "cookie" as const
          })
        })
      )
      .addSuccess(PasskeySignInResult)
      .annotate(OpenApi.Description, "Signs in with the passkey assertion the browser made.")
  )
  .addError(Unauthorized)
  .addError(Forbidden)
  .addError(NotFound)
  .addError(Conflict)
  .addError(InvalidRequest)
  .addError(TooManyRequests)
  .annotate(OpenApi.Title, "Passkeys")
  .annotate(OpenApi.Description, "WebAuthn passkeys: registration while signed in, usernameless sign-in.") {}
