import { SqlClient } from "@effect/sql"
import { type MemberRole, type OrganizationId, Principal, Unauthorized, type UserId } from "@tapline/domain"
import { Effect, Option } from "effect"
import { ApiKeyRepository, KEY_PREFIX } from "./ApiKeys.js"

const rejected = new Unauthorized({ message: "missing, unknown, revoked or expired credentials" })

/**
 * The one place where a request's credentials become a principal. Today: API keys. Sign-in sessions join
 * here, so every endpoint keeps asking one service. A database failure is not a rejection: it propagates
 * as an outage instead of answering 401.
 */
export class Auth extends Effect.Service<Auth>()("@tapline/server/Auth", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keys = yield* ApiKeyRepository

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

    const authenticate = (token: string): Effect.Effect<Principal, Unauthorized> =>
      (token.startsWith(KEY_PREFIX) && token.length < 200 ? fromApiKey(token) : Effect.fail(rejected)).pipe(
        Effect.catchTag("SqlError", (error) => Effect.die(error)),
        Effect.withSpan("Auth.authenticate")
      )

    return { authenticate } as const
  }),
  dependencies: [ApiKeyRepository.Default]
}) {}
