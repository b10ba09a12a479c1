import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { type MemberRole, type OrganizationId, Principal, Unauthorized, type UserId } from "@tapline/domain"
import { Effect, Option } from "effect"
import { ApiKeyRepository, KEY_PREFIX } from "./ApiKeys.js"
import { ACCESS_PREFIX, csrfMatches, Sessions } from "./Sessions.js"

/** The browser's session cookie (HttpOnly) and the header that must echo its CSRF token on changes. */
export const SESSION_COOKIE = "tapline_session"
export const CSRF_HEADER = "x-csrf-token"

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"])

const rejected = new Unauthorized({ message: "missing, unknown, revoked or expired credentials" })
const csrfRejected = new Unauthorized({
  message: `a change authenticated by the session cookie needs the ${CSRF_HEADER} header of that session`
})

/**
 * The one place where a request's credentials become a principal: API keys and sign-in sessions (bearer
 * access token or the browser's cookie), so every endpoint keeps asking one service. A database failure is not a rejection: it propagates
 * as an outage instead of answering 401.
 */
export class Auth extends Effect.Service<Auth>()("@tapline/server/Auth", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keys = yield* ApiKeyRepository
    const sessions = yield* Sessions

    /** A user's own standing: platform role and memberships. */
    const userStanding = (userId: UserId) =>
      Effect.gen(function* () {
        const [user] = yield* sql<{
          platformRole: string
        }>`select platform_role from users where id = ${userId}`
        const memberships = yield* sql<{ organizationId: OrganizationId; role: MemberRole }>`
          select m.organization_id, m.role from memberships m
          join organizations o on o.id = m.organization_id and o.deleted_at is null
          where m.user_id = ${userId}`
        return {
          platformAdmin: user?.platformRole === "ADMIN",
          roles: Object.fromEntries(memberships.map((m) => [m.organizationId, m.role])) as Record<
            OrganizationId,
            MemberRole
          >
        }
      })

    const fromApiKey = (secret: string) =>
      Effect.gen(function* () {
        const key = yield* keys.findActive(secret)
        if (Option.isNone(key)) return yield* Effect.fail(rejected)
        const { id, organizationId, role, userId } = key.value
        if (organizationId !== null && role !== null) {
          return new Principal({
            actorType: "api_key",
            actorId: id,
            userId,
            platformAdmin: false,
            roles: { [organizationId]: role } as Record<OrganizationId, MemberRole>
          })
        }
        // A personal key acts as its user.
        if (userId === null) return yield* Effect.fail(rejected)
        return new Principal({ actorType: "api_key", actorId: id, userId, ...(yield* userStanding(userId)) })
      })

    const asUser = (userId: UserId, sessionId?: string) =>
      Effect.map(
        userStanding(userId),
        (standing) =>
          new Principal({
            actorType: "user",
            actorId: userId,
            userId,
            ...standing,
            ...(sessionId === undefined ? {} : { sessionId })
          })
      )

    const fromSession = (accessToken: string, csrf: "checked" | string | undefined) =>
      Effect.gen(function* () {
        const session = yield* sessions.authenticate(accessToken)
        if (Option.isNone(session)) return yield* Effect.fail(rejected)
        if (csrf !== "checked" && !csrfMatches(session.value, csrf)) return yield* Effect.fail(csrfRejected)
        return yield* asUser(session.value.userId, session.value.id)
      })

    const outagesAsDefects = <A>(effect: Effect.Effect<A, Unauthorized | SqlError>) =>
      effect.pipe(
        Effect.catchTag("SqlError", (error) => Effect.die(error)),
        Effect.withSpan("Auth.authenticate")
      )

    /** `Authorization: Bearer`: an API key or a session's access token. No CSRF: browsers never add it. */
    const authenticate = (token: string): Effect.Effect<Principal, Unauthorized> => {
      if (token.length > 200) return Effect.fail(rejected)
      if (token.startsWith(KEY_PREFIX)) return outagesAsDefects(fromApiKey(token))
      if (token.startsWith(ACCESS_PREFIX)) return outagesAsDefects(fromSession(token, "checked"))
      return Effect.fail(rejected)
    }

    /**
     * The session cookie. Browsers send it on their own, so a change (any method but GET, HEAD, OPTIONS)
     * must also carry the session's CSRF token in a header a cross-site form cannot set.
     */
    const authenticateCookie = (
      token: string
    ): Effect.Effect<Principal, Unauthorized, HttpServerRequest.HttpServerRequest> =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        if (!token.startsWith(ACCESS_PREFIX) || token.length > 200) return Effect.fail(rejected)
        const header = request.headers[CSRF_HEADER]
        return outagesAsDefects(fromSession(token, safeMethods.has(request.method) ? "checked" : header))
      })

    return { authenticate, authenticateCookie, asUser } as const
  }),
  dependencies: [ApiKeyRepository.Default, Sessions.Default]
}) {}
