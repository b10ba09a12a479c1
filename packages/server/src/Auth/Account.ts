import {
  Forbidden,
  NotFound,
  type OrganizationId,
  type Principal,
  type SessionId,
  Unauthorized,
  type UserId
} from "@tapline/domain"
import { DateTime, Effect, Option } from "effect"
import { Audit } from "../Audit/Audit.js"
import { UserRepository } from "../Users/UserRepository.js"
import { AuthRateLimit } from "./AuthRateLimit.js"
import { Sessions } from "./Sessions.js"
import { Totp } from "./Totp.js"

const refused = new Unauthorized({ message: "unknown, expired or revoked refresh token" })

/**
 * What a signed-in user does with their own account (DESIGN.md §6): who they are and where they are a
 * member, their sessions, revoking one, signing out, and refreshing a session. Endings are audited; a
 * refresh token that comes back after it was rotated ends the whole session, and the owner can see why.
 */
export class Account extends Effect.Service<Account>()("@tapline/server/Account", {
  effect: Effect.gen(function* () {
    const sessions = yield* Sessions
    const totp = yield* Totp
    const users = yield* UserRepository
    const audit = yield* Audit
    const limits = yield* AuthRateLimit

    const me = Effect.fn("Account.me")(function* (userId: UserId, principal: Principal) {
      const found = yield* Effect.orDie(users.findById(userId))
      if (Option.isNone(found)) return yield* new NotFound({ resource: "user", id: userId })
      return {
        userId,
        email: found.value.email,
        name: found.value.name,
        platformAdmin: principal.platformAdmin,
        memberships: Object.entries(principal.roles).map(([organizationId, role]) => ({
          organizationId: organizationId as OrganizationId,
          role
        })),
        totp: yield* Effect.orDie(totp.status(userId))
      }
    })

    const listSessions = Effect.fn("Account.listSessions")(function* (userId: UserId) {
      const rows = yield* Effect.orDie(sessions.list(userId))
      return rows.map((row) => ({
        ...row,
        id: row.id as SessionId,
        createdAt: DateTime.unsafeFromDate(row.createdAt),
        lastUsedAt: DateTime.unsafeFromDate(row.lastUsedAt),
        expiresAt: DateTime.unsafeFromDate(row.expiresAt)
      }))
    })

    const revokeSession = Effect.fn("Account.revokeSession")(function* (
      userId: UserId,
      sessionId: SessionId
    ) {
      const revoked = yield* Effect.orDie(sessions.revoke(userId, sessionId))
      if (!revoked) return yield* new NotFound({ resource: "session", id: sessionId })
      yield* audit.record({
        organizationId: null,
        action: "session.revoke",
        resourceType: "session",
        resourceId: sessionId
      })
    })

    /** Only a sign-in session signs out: an API key is revoked by its organisation's OWNER instead. */
    const signOut = Effect.fn("Account.signOut")(function* (principal: Principal) {
      if (principal.userId === null || principal.sessionId === undefined) {
        return yield* new Forbidden({
          message: "only a sign-in session can sign out; revoke API keys instead"
        })
      }
      yield* Effect.orDie(sessions.revoke(principal.userId as UserId, principal.sessionId, "signed_out"))
      yield* audit.record({
        organizationId: null,
        action: "session.sign_out",
        resourceType: "session",
        resourceId: principal.sessionId
      })
    })

    /** New tokens for a refresh token, which rotates: the one given is spent. */
    const refresh = Effect.fn("Account.refresh")(function* (token: string | undefined) {
      // Guessing a 256-bit token is hopeless; the limit is against hammering the session store.
      yield* limits.attempt("refresh")
      if (token === undefined || token.length === 0) return yield* refused
      const result = yield* Effect.orDie(sessions.refresh(token))
      if (result.refused === null) return result.tokens
      if (result.refused === "reused") {
        yield* audit.record({
          organizationId: null,
          actor: { type: "user", id: result.userId },
          action: "session.refresh_reuse",
          resourceType: "session",
          resourceId: result.sessionId
        })
      }
      return yield* refused
    })

    return { me, listSessions, revokeSession, signOut, refresh } as const
  })
}) {}
