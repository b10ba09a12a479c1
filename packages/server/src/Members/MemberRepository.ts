import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { MemberRole, Membership, OrganizationId, UserId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"

/** A member as the API shows it: the membership joined with its user (timestamptz as `Date`). */
export const MemberRow = Schema.Struct({
  userId: UserId,
  email: Schema.String,
  name: Schema.String,
  role: MemberRole,
  createdAt: Schema.DateFromSelf
})
export type MemberRow = typeof MemberRow.Type

/** The only SQL on `memberships`. */
export class MemberRepository extends Effect.Service<MemberRepository>()("@tapline/server/MemberRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** A second add of the same user sets the role. */
    const add = SqlSchema.single({
      Request: Membership.insert,
      Result: Membership,
      execute: (row) => sql`
        insert into memberships ${sql.insert(row)}
        on conflict (user_id, organization_id) do update set role = excluded.role
        returning *`
    })

    const ofUser = SqlSchema.findAll({
      Request: UserId,
      Result: Membership,
      execute: (userId) => sql`select * from memberships where user_id = ${userId} order by created_at`
    })

    const ofOrganization = SqlSchema.findAll({
      Request: OrganizationId,
      Result: Membership,
      execute: (organizationId) =>
        sql`select * from memberships where organization_id = ${organizationId} order by created_at`
    })

    const remove = (key: { readonly organizationId: OrganizationId; readonly userId: UserId }) =>
      sql`delete from memberships where user_id = ${key.userId} and organization_id = ${key.organizationId}`

    const list = (
      organizationId: OrganizationId,
      query: { readonly after: string | null; readonly limit: number }
    ) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: OrganizationId,
          Result: MemberRow,
          execute: (organizationId) => sql`
        select m.user_id, u.email, u.name, m.role, m.created_at from memberships m join users u on u.id = m.user_id
        where m.organization_id = ${organizationId}
          ${query.after === null ? sql`` : sql`and m.user_id > ${query.after}`}
        order by m.user_id limit ${query.limit + 1}`
        })(organizationId)
      )

    /** `lock` takes the membership for the rest of the transaction. */
    const find = (
      organizationId: OrganizationId,
      userId: UserId,
      options: { readonly lock?: boolean } = {}
    ) =>
      rowsOrDie(
        SqlSchema.findOne({
          Request: UserId,
          Result: MemberRow,
          execute: (userId) => sql`
        select m.user_id, u.email, u.name, m.role, m.created_at from memberships m join users u on u.id = m.user_id
        where m.organization_id = ${organizationId} and m.user_id = ${userId}
          ${options.lock ? sql`for update of m` : sql``}`
        })(userId)
      ).pipe(Effect.map(Option.getOrUndefined))

    /** The OWNERs' user ids, locked: two concurrent demotions cannot both see another owner left. */
    const lockOwners = (organizationId: OrganizationId) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: OrganizationId,
          Result: Schema.Struct({ userId: Schema.String }),
          execute: (organizationId) => sql`
        select user_id from memberships where organization_id = ${organizationId} and role = 'OWNER'
        for update`
        })(organizationId)
      ).pipe(Effect.map((rows) => rows.map((row) => row.userId)))

    const setRole = (organizationId: OrganizationId, userId: UserId, role: MemberRole) =>
      sql`update memberships set role = ${role} where user_id = ${userId} and organization_id = ${organizationId}`

    /** False when the user is a member already (whatever their role). */
    const addIfAbsent = (row: {
      readonly organizationId: OrganizationId
      readonly userId: UserId
      readonly role: MemberRole
    }) =>
      sql`
        insert into memberships (user_id, organization_id, role) values (${row.userId}, ${row.organizationId}, ${row.role})
        on conflict (user_id, organization_id) do nothing returning user_id`.pipe(
        Effect.map((rows) => rows.length > 0)
      )

    return { add, addIfAbsent, ofUser, ofOrganization, remove, list, find, lockOwners, setRole } as const
  })
}) {}
