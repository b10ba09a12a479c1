import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import {
  Conflict,
  Member,
  type MemberRole,
  NotFound,
  type OrganizationId,
  TaplineApi,
  type UserId
} from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { Audit } from "../Audit/Audit.js"
import { ApiKeyRepository } from "../Auth/ApiKeys.js"
import { requireRole } from "../Auth/Authorization.js"
import { Users } from "../Users/Users.js"

const MemberRow = Schema.Struct({ ...Member.fields, createdAt: Schema.DateTimeUtcFromDate })
const decodeMember = Schema.decodeUnknown(MemberRow)

export const MembersHandlers = HttpApiBuilder.group(TaplineApi, "members", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes
    const audit = yield* Audit
    const users = yield* Users

    const member = (organizationId: OrganizationId, userId: UserId, lock = false) =>
      sql`
        select m.user_id, u.email, u.name, m.role, m.created_at from memberships m join users u on u.id = m.user_id
        where m.organization_id = ${organizationId} and m.user_id = ${userId} ${lock ? sql`for update of m` : sql``}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? new NotFound({ resource: "member", id: userId })
            : Effect.orDie(decodeMember(rows[0]))
        )
      )

    /** An organisation always keeps an OWNER: the last one can be neither demoted nor removed. */
    const keepAnOwner = (organizationId: OrganizationId, userId: UserId, newRole: MemberRole | null) =>
      Effect.gen(function* () {
        if (newRole === "OWNER") return
        const owners = yield* sql<{ userId: string }>`
          select user_id from memberships where organization_id = ${organizationId} and role = 'OWNER' for update`
        if (owners.length === 1 && owners[0]?.userId === userId) {
          return yield* new Conflict({ message: "an organisation must keep at least one OWNER" })
        }
      })

    return handlers
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const after = yield* decodeCursor(urlParams.cursor)
          const rows = yield* sql`
            select m.user_id, u.email, u.name, m.role, m.created_at from memberships m join users u on u.id = m.user_id
            where m.organization_id = ${path.organizationId} ${after === null ? sql`` : sql`and m.user_id > ${after}`}
            order by m.user_id limit ${urlParams.limit + 1}`.pipe(Effect.orDie)
          const items = yield* Effect.orDie(Effect.forEach(rows, (row) => decodeMember(row)))
          return toPage(items, urlParams.limit, (m) => m.userId)
        })
      )
      .handle("add", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          return yield* changes.transact(
            Effect.gen(function* () {
              const { id: userId } = yield* users.ensure({ email: payload.email })
              const existing = yield* sql`select role from memberships
                where user_id = ${userId} and organization_id = ${path.organizationId}`
              if (existing.length > 0) return yield* new Conflict({ message: "already a member" })
              yield* sql`insert into memberships (user_id, organization_id, role)
                values (${userId}, ${path.organizationId}, ${payload.role})`
              const added = yield* member(path.organizationId, userId)
              yield* audit.record({
                organizationId: path.organizationId,
                action: "member.add",
                resourceType: "member",
                resourceId: userId,
                newValues: { email: added.email, role: added.role }
              })
              return added
            })
          )
        })
      )
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          return yield* changes.transact(
            Effect.gen(function* () {
              const before = yield* member(path.organizationId, path.userId, true)
              yield* keepAnOwner(path.organizationId, path.userId, payload.role)
              yield* sql`update memberships set role = ${payload.role}
                where user_id = ${path.userId} and organization_id = ${path.organizationId}`
              yield* audit.record({
                organizationId: path.organizationId,
                action: "member.update",
                resourceType: "member",
                resourceId: path.userId,
                oldValues: { role: before.role },
                newValues: { role: payload.role }
              })
              return { ...before, role: payload.role }
            })
          )
        })
      )
      .handle("remove", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          yield* changes.transact(
            Effect.gen(function* () {
              const before = yield* member(path.organizationId, path.userId, true)
              yield* keepAnOwner(path.organizationId, path.userId, null)
              yield* sql`delete from memberships where user_id = ${path.userId} and organization_id = ${path.organizationId}`
              yield* audit.record({
                organizationId: path.organizationId,
                action: "member.remove",
                resourceType: "member",
                resourceId: path.userId,
                oldValues: { email: before.email, role: before.role }
              })
            })
          )
        })
      )
  })
)

export const ApiKeysHandlers = HttpApiBuilder.group(TaplineApi, "apiKeys", (handlers) =>
  Effect.gen(function* () {
    const keys = yield* ApiKeyRepository
    const changes = yield* Changes
    const audit = yield* Audit
    return handlers
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          const after = yield* decodeCursor(urlParams.cursor)
          const rows = yield* Effect.orDie(keys.list(path.organizationId, after, urlParams.limit + 1))
          return toPage(rows, urlParams.limit, (key) => key.id)
        })
      )
      .handle("create", ({ path, payload }) =>
        Effect.gen(function* () {
          const principal = yield* requireRole(path.organizationId, "OWNER")
          return yield* changes.transact(
            Effect.gen(function* () {
              const created = yield* keys.create({
                organizationId: path.organizationId,
                userId: null,
                name: payload.name,
                role: payload.role,
                expiresAt: Option.fromNullable(payload.expiresAt),
                createdBy: `${principal.actorType}:${principal.actorId}`
              })
              yield* audit.record({
                organizationId: path.organizationId,
                action: "api_key.create",
                resourceType: "api_key",
                resourceId: created.key.id,
                newValues: { name: created.key.name, role: created.key.role, hint: created.key.hint }
              })
              return created
            })
          )
        })
      )
      .handle("revoke", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          return yield* changes.transact(
            Effect.gen(function* () {
              const revoked = yield* keys.revoke(path.organizationId, path.apiKeyId)
              if (Option.isNone(revoked))
                return yield* new NotFound({ resource: "api_key", id: path.apiKeyId })
              yield* audit.record({
                organizationId: path.organizationId,
                action: "api_key.revoke",
                resourceType: "api_key",
                resourceId: path.apiKeyId
              })
              return revoked.value
            })
          )
        })
      )
  })
)
