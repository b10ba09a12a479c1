import * as SqlClient from "@effect/sql/SqlClient"
import { type MemberRole, type OrganizationId, Principal } from "@tapline/domain"
import { Effect, Option } from "effect"
import { ApiKeyRepository } from "./ApiKeys.js"
import { Sessions } from "./Sessions.js"

interface StandingRow {
  /** The organisation key's own organisation and role; null for a personal key or a user. */
  readonly keyOrganizationId: OrganizationId | null
  readonly keyRole: MemberRole | null
  readonly platformRole: string | null
  /** The user's membership in the organisation asked about. */
  readonly memberRole: MemberRole | null
}

/**
 * A principal as it stands now in one organisation, re-read by its credential's id (the API key, or the
 * session and its user): what a request that outlives its authentication (the live stream) checks again
 * on every tick. None once the credential no longer holds (revoked, expired, signed out, organisation
 * deleted). One statement by primary keys, without the token hashing and `last_used_at` touch of
 * authentication: it is run once a second per open stream (docs/decisions.md).
 */
export class Standing extends Effect.Service<Standing>()("@tapline/server/Standing", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keys = yield* ApiKeyRepository
    const sessions = yield* Sessions

    /** The user's platform role and membership in the organisation (organisations deleted count as none). */
    const member = (organizationId: OrganizationId) => sql`
      left join memberships m on m.user_id = u.id and m.organization_id = ${organizationId}
        and exists (select 1 from organizations mo where mo.id = m.organization_id and mo.deleted_at is null)`

    const ofKey = (keyId: string, organizationId: OrganizationId) =>
      sql<StandingRow>`
        select k.organization_id as key_organization_id, k.role as key_role, u.platform_role,
          m.role as member_role
        from api_keys k
        left join organizations o on o.id = k.organization_id
        left join users u on u.id = k.user_id and k.organization_id is null
        ${member(organizationId)}
        where k.id = ${keyId} and ${keys.isActive}`

    const ofUser = (userId: string, sessionId: string | undefined, organizationId: OrganizationId) =>
      sql<StandingRow>`
        select null as key_organization_id, null as key_role, u.platform_role, m.role as member_role
        from users u
        ${member(organizationId)}
        where u.id = ${userId}
          ${
            sessionId === undefined
              ? sql``
              : sql`and exists (select 1 from sessions where id = ${sessionId} and user_id = u.id
                  and ${sessions.isLive})`
          }`

    const now = (principal: Principal, organizationId: OrganizationId) =>
      Effect.map(
        principal.actorType === "api_key"
          ? ofKey(principal.actorId, organizationId)
          : ofUser(principal.actorId, principal.sessionId, organizationId),
        ([row]) => {
          if (row === undefined) return Option.none<Principal>()
          const role = row.keyOrganizationId === null ? row.memberRole : row.keyRole
          const roles =
            role === null || (row.keyOrganizationId ?? organizationId) !== organizationId
              ? {}
              : {
                  [organizationId]: role
                }
          return Option.some(
            new Principal({
              ...principal,
              platformAdmin: row.keyOrganizationId === null && row.platformRole === "ADMIN",
              roles: roles as Record<OrganizationId, MemberRole>
            })
          )
        }
      )

    return { now } as const
  }),
  dependencies: [ApiKeyRepository.Default, Sessions.Default]
}) {}
