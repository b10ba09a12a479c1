import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Forbidden, NotFound, TooManyRequests, Unauthorized } from "./Errors.js"
import { OrganizationId, UserId } from "./Ids.js"
import { MemberRole } from "./Membership.js"
import { NoContent } from "./Params.js"

export const SessionId = Schema.UUID.pipe(Schema.brand("SessionId"))
export type SessionId = typeof SessionId.Type
export const sessionId = HttpApiSchema.param("sessionId", SessionId)

export const SessionInfo = Schema.Struct({
  id: SessionId,
  /** How it was signed in: `oauth:<provider>`, `passkey`, … */
  method: Schema.String,
  createdAt: Schema.DateTimeUtc,
  lastUsedAt: Schema.DateTimeUtc,
  expiresAt: Schema.DateTimeUtc,
  ip: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String)
})

export const RefreshRequest = Schema.Struct({
  /** API clients send it here; browsers send the `tapline_refresh` cookie instead. */
  refreshToken: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
}).annotations({ examples: [{ refreshToken: "tlr_…" }] })

/**
 * A session's tokens. The access and refresh tokens are in the body only for API clients (the refresh token
 * came in the body); a browser gets them as HttpOnly cookies and sees only the CSRF token.
 */
export const SessionTokens = Schema.Struct({
  sessionId: SessionId,
  accessToken: Schema.optional(Schema.String),
  refreshToken: Schema.optional(Schema.String),
  csrfToken: Schema.String,
  accessExpiresAt: Schema.DateTimeUtc,
  expiresAt: Schema.DateTimeUtc
})

/** The signed-in user as the sign-in page and console need it. */
export const Me = Schema.Struct({
  userId: UserId,
  email: Schema.String,
  name: Schema.String,
  platformAdmin: Schema.Boolean,
  memberships: Schema.Array(Schema.Struct({ organizationId: OrganizationId, role: MemberRole })),
  totp: Schema.Literal("none", "pending", "enabled")
})

export class SessionsApi extends HttpApiGroup.make("sessions")
  .add(
    HttpApiEndpoint.get("me", "/api/v1/me")
      .addSuccess(Me)
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Who you are signed in as: memberships and second-factor state.")
  )
  .add(
    HttpApiEndpoint.get("list", "/api/v1/me/sessions")
      .addSuccess(Schema.Array(SessionInfo))
      .middleware(Authentication)
      .annotate(
        OpenApi.Description,
        "Your live sessions, newest first. Needs a signed-in user, not an API key."
      )
  )
  .add(
    HttpApiEndpoint.del("revoke")`/api/v1/me/sessions/${sessionId}`
      .addSuccess(NoContent)
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Ends one of your sessions at once, this one included.")
  )
  .add(
    HttpApiEndpoint.post("signOut", "/api/v1/auth/sign-out")
      .addSuccess(NoContent)
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Ends the session this request came with and clears its cookies.")
  )
  .add(
    HttpApiEndpoint.post("refresh", "/api/v1/auth/refresh")
      .setPayload(RefreshRequest)
      .addSuccess(SessionTokens)
      .annotate(
        OpenApi.Description,
        "New access and refresh tokens for the current refresh token, which is retired. Presenting a retired " +
          "refresh token again ends the whole session (it was copied)."
      )
  )
  .addError(Unauthorized)
  .addError(Forbidden)
  .addError(NotFound)
  .addError(TooManyRequests)
  .annotate(OpenApi.Title, "Sessions")
  .annotate(OpenApi.Description, "Sign-in sessions: list, revoke, refresh.") {}
