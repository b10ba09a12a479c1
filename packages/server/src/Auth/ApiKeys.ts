import * as SqlClient from "@effect/sql/SqlClient"
import type { ApiKeyId, CreateApiKey, MemberRole, OrganizationId, Principal, UserId } from "@tapline/domain"
import { ApiKey } from "@tapline/domain"
import { type DateTime, Effect, Option, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { hashSecret, randomToken } from "../Crypto/Tokens.js"

export const KEY_PREFIX = "tlk_"

export const generateSecret = () => randomToken(KEY_PREFIX)

export const hintOf = (secret: string) => secret.slice(0, KEY_PREFIX.length + 6)

const ApiKeyRow = Schema.Struct({
  ...ApiKey.fields,
  createdAt: Schema.DateTimeUtcFromDate,
  lastUsedAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
  expiresAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
  revokedAt: Schema.NullOr(Schema.DateTimeUtcFromDate)
})
const decodeRow = Schema.decodeUnknown(ApiKeyRow)

export interface ActiveKey {
  readonly id: ApiKeyId
  readonly organizationId: OrganizationId | null
  readonly userId: UserId | null
  readonly role: MemberRole | null
}

export class ApiKeyRepository extends Effect.Service<ApiKeyRepository>()("@tapline/server/ApiKeyRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const create = (input: {
      readonly organizationId: OrganizationId | null
      readonly userId: UserId | null
      readonly name: string
      readonly role: MemberRole | null
      readonly expiresAt: Option.Option<DateTime.Utc>
      readonly createdBy: string | null
    }) =>
      Effect.gen(function* () {
        const secret = generateSecret()
        const expiresAt = Option.match(input.expiresAt, {
          onNone: () => null,
          onSome: (d) => new Date(d.epochMillis)
        })
        const rows = yield* sql`
          insert into api_keys (organization_id, user_id, name, role, secret_hash, hint, created_by, expires_at)
          values (${input.organizationId}, ${input.userId}, ${input.name}, ${input.role}, ${hashSecret(secret)},
            ${hintOf(secret)}, ${input.createdBy}, ${expiresAt})
          returning id, organization_id, name, role, hint, created_at, last_used_at, expires_at, revoked_at`
        const key = new ApiKey(yield* Effect.orDie(decodeRow(rows[0])))
        return { key, secret }
      })

    const list = (organizationId: OrganizationId, after: string | null, limit: number) =>
      sql`
        select id, organization_id, name, role, hint, created_at, last_used_at, expires_at, revoked_at
        from api_keys where organization_id = ${organizationId}
          ${after === null ? sql`` : sql`and id < ${after}`}
        order by id desc limit ${limit}`.pipe(
        Effect.flatMap((rows) => Effect.forEach(rows, (row) => Effect.orDie(decodeRow(row)))),
        Effect.map((rows) => rows.map((row) => new ApiKey(row)))
      )

    const revoke = (organizationId: OrganizationId, id: ApiKeyId) =>
      sql`
        update api_keys set revoked_at = coalesce(revoked_at, now())
        where id = ${id} and organization_id = ${organizationId}
        returning id, organization_id, name, role, hint, created_at, last_used_at, expires_at, revoked_at`.pipe(
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.succeed(Option.none())
            : Effect.asSome(Effect.orDie(decodeRow(rows[0])))
        ),
        Effect.map(Option.map((row) => new ApiKey(row)))
      )

    /**
     * The key for a secret if it is neither revoked nor expired, and neither is its organisation deleted.
     * Records the use at most once a minute, so a busy key does not write on every request.
     */
    /** The one definition of a usable key `k` (its organisation joined as `o`): the standing checks use it too. */
    const isActive = sql`k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
      and (k.organization_id is null or o.deleted_at is null)`

    const findActive = (secret: string) =>
      sql<ActiveKey>`
        with found as (
          select k.id, k.organization_id, k.user_id, k.role, k.last_used_at from api_keys k
          left join organizations o on o.id = k.organization_id
          where k.secret_hash = ${hashSecret(secret)} and ${isActive}
        ),
        touched as (
          update api_keys set last_used_at = now()
          where id in (select id from found where last_used_at is null or last_used_at < now() - interval '1 minute')
        )
        select id, organization_id, user_id, role from found`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]))
      )

    return { create, list, revoke, findActive, isActive } as const
  })
}) {}

/** An organisation's API keys as its OWNERs manage them: every creation and revocation audited. */
export class ApiKeys extends Effect.Service<ApiKeys>()("@tapline/server/ApiKeys", {
  effect: Effect.gen(function* () {
    const repository = yield* ApiKeyRepository
    const changes = yield* Changes

    const list = Effect.fn("ApiKeys.list")(function* (organizationId: OrganizationId, request: PageRequest) {
      const fetch = (query: { after: string | null; limit: number }) =>
        repository.list(organizationId, query.after, query.limit + 1)
      return yield* listPage(request, fetch, Effect.succeed, (key) => key.id)
    })

    /** The secret is in the answer once and never stored: only its hash is. */
    const create = Effect.fn("ApiKeys.create")(function* (
      principal: Principal,
      organizationId: OrganizationId,
      input: typeof CreateApiKey.Type
    ) {
      return yield* changes.transact(
        Effect.gen(function* () {
          const created = yield* repository.create({
            organizationId,
            userId: null,
            name: input.name,
            role: input.role,
            expiresAt: Option.fromNullable(input.expiresAt),
            createdBy: `${principal.actorType}:${principal.actorId}`
          })
          yield* changes.record({
            organizationId,
            action: "api_key.create",
            resourceType: "api_key",
            resourceId: created.key.id,
            newValues: { name: created.key.name, role: created.key.role, hint: created.key.hint }
          })
          return created
        })
      )
    })

    const revoke = Effect.fn("ApiKeys.revoke")(function* (organizationId: OrganizationId, id: ApiKeyId) {
      return yield* changes.transact(
        Effect.gen(function* () {
          const revoked = yield* repository.revoke(organizationId, id)
          if (Option.isNone(revoked)) return yield* changes.notFound("api_key", id)
          yield* changes.record({
            organizationId,
            action: "api_key.revoke",
            resourceType: "api_key",
            resourceId: id
          })
          return revoked.value
        })
      )
    })

    return { list, create, revoke } as const
  }),
  dependencies: [ApiKeyRepository.Default]
}) {}
