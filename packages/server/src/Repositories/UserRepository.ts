import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Email, Membership, OrganizationId, User, UserId } from "@tapline/domain"
import { Effect, Schema } from "effect"

export class UserRepository extends Effect.Service<UserRepository>()("@tapline/server/UserRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const insert = SqlSchema.single({
      Request: User.insert,
      Result: User,
      execute: (row) => sql`insert into users ${sql.insert(row)} returning *`
    })

    const findById = SqlSchema.findOne({
      Request: UserId,
      Result: User,
      execute: (id) => sql`select * from users where id = ${id}`
    })

    /** Emails compare case-insensitively, as mail servers treat them in practice. */
    const findByEmail = SqlSchema.findOne({
      Request: Email,
      Result: User,
      execute: (email) => sql`select * from users where lower(email) = lower(${email})`
    })

    const addMembership = SqlSchema.single({
      Request: Membership.insert,
      Result: Membership,
      execute: (row) => sql`
        insert into memberships ${sql.insert(row)}
        on conflict (user_id, organization_id) do update set role = excluded.role
        returning *`
    })

    const membershipsOfUser = SqlSchema.findAll({
      Request: UserId,
      Result: Membership,
      execute: (userId) => sql`select * from memberships where user_id = ${userId} order by created_at`
    })

    const membersOfOrganization = SqlSchema.findAll({
      Request: OrganizationId,
      Result: Membership,
      execute: (organizationId) =>
        sql`select * from memberships where organization_id = ${organizationId} order by created_at`
    })

    const removeMembership = SqlSchema.void({
      Request: Schema.Struct({ userId: UserId, organizationId: OrganizationId }),
      execute: ({ organizationId, userId }) =>
        sql`delete from memberships where user_id = ${userId} and organization_id = ${organizationId}`
    })

    return {
      insert,
      findById,
      findByEmail,
      addMembership,
      membershipsOfUser,
      membersOfOrganization,
      removeMembership
    } as const
  })
}) {}
