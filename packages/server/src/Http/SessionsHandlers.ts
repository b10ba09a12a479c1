import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import {
  CurrentPrincipal,
  Forbidden,
  NotFound,
  type OrganizationId,
  type SessionId,
  TaplineApi,
  Unauthorized,
  type UserId
} from "@tapline/domain"
import { DateTime, Effect, Option } from "effect"
import { Audit } from "../Audit/Audit.js"
import { requireUser } from "../Auth/Authorization.js"
import { AuthRateLimit } from "../Auth/AuthRateLimit.js"
import { browserSessionResponse, clearedCookies, REFRESH_COOKIE, tokensBody } from "../Auth/SessionCookies.js"
import { Sessions } from "../Auth/Sessions.js"
import { Totp } from "../Auth/Totp.js"
import { AppConfig } from "../Config/AppConfig.js"
import { UserRepository } from "../Users/UserRepository.js"

const refused = new Unauthorized({ message: "unknown, expired or revoked refresh token" })

export const SessionsHandlers = HttpApiBuilder.group(TaplineApi, "sessions", (handlers) =>
  Effect.gen(function* () {
    const sessions = yield* Sessions
    const totp = yield* Totp
    const users = yield* UserRepository
    const audit = yield* Audit
    const { auth } = yield* AppConfig
    const limits = yield* AuthRateLimit
    return handlers
      .handle("me", () =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          const principal = yield* CurrentPrincipal
          const found = yield* Effect.orDie(users.findById(userId))
          if (Option.isNone(found)) return yield* new NotFound({ resource: "user", id: userId })
          const user = found.value
          return {
            userId,
            email: user.email,
            name: user.name,
            platformAdmin: principal.platformAdmin,
            memberships: Object.entries(principal.roles).map(([organizationId, role]) => ({
              organizationId: organizationId as OrganizationId,
              role
            })),
            totp: yield* totp.status(userId)
          }
        }).pipe(Effect.catchTag("SqlError", Effect.die))
      )
      .handle("list", () =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          const rows = yield* Effect.orDie(sessions.list(userId))
          return rows.map((row) => ({
            ...row,
            id: row.id as SessionId,
            createdAt: DateTime.unsafeFromDate(row.createdAt),
            lastUsedAt: DateTime.unsafeFromDate(row.lastUsedAt),
            expiresAt: DateTime.unsafeFromDate(row.expiresAt)
          }))
        })
      )
      .handle("revoke", ({ path }) =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          const revoked = yield* Effect.orDie(sessions.revoke(userId, path.sessionId))
          if (!revoked) return yield* Effect.fail(new NotFound({ resource: "session", id: path.sessionId }))
          yield* audit.record({
            organizationId: null,
            action: "session.revoke",
            resourceType: "session",
            resourceId: path.sessionId
          })
        })
      )
      .handle("signOut", () =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          if (principal.userId === null || principal.sessionId === undefined) {
            return yield* Effect.fail(
              new Forbidden({ message: "only a sign-in session can sign out; revoke API keys instead" })
            )
          }
          yield* Effect.orDie(sessions.revoke(principal.userId as UserId, principal.sessionId, "signed_out"))
          yield* audit.record({
            organizationId: null,
            action: "session.sign_out",
            resourceType: "session",
            resourceId: principal.sessionId
          })
          const cookies = yield* Effect.orDie(clearedCookies(auth.cookieSecure))
          return HttpServerResponse.empty({ status: 204 }).pipe(HttpServerResponse.mergeCookies(cookies))
        })
      )
      .handle("refresh", ({ payload }) =>
        Effect.gen(function* () {
          // Guessing a 256-bit token is hopeless; the limit is against hammering the session store.
          yield* limits.attempt("refresh")
          const request = yield* HttpServerRequest.HttpServerRequest
          const fromBody = payload.refreshToken !== undefined
          const token = payload.refreshToken ?? request.cookies[REFRESH_COOKIE]
          if (token === undefined || token.length === 0) return yield* Effect.fail(refused)
          const result = yield* Effect.orDie(sessions.refresh(token))
          if (result.refused !== null) {
            if (result.refused === "reused") {
              // A copied refresh token: the whole session is ended, and the owner can see why.
              yield* audit.record({
                organizationId: null,
                actor: { type: "user", id: result.userId },
                action: "session.refresh_reuse",
                resourceType: "session",
                resourceId: result.sessionId
              })
            }
            return yield* Effect.fail(refused)
          }
          if (fromBody) return tokensBody(result.tokens, true)
          return yield* browserSessionResponse(result.tokens, auth.cookieSecure)
        })
      )
  })
)
