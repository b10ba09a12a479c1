import * as Model from "@effect/sql/Model"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Email, User, UserId } from "@tapline/domain"
import { Effect, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"

/** The only SQL that creates users: every way in (invitation, provider sign-up, member add, bootstrap) ends here. */
export class UserRepository extends Effect.Service<UserRepository>()("@tapline/server/UserRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const { findById } = yield* Model.makeRepository(User, {
      tableName: "users",
      spanPrefix: "UserRepository",
      idColumn: "id"
    })

    /**
     * The user with this email, created when there is none (emails compare case-insensitively).
     * `admin` makes an existing user a platform ADMIN too; `created` says whether the row is new.
     */
    const ensure = (input: { readonly email: string; readonly name?: string; readonly admin?: boolean }) =>
      rowsOrDie(
        SqlSchema.single({
          Request: Schema.Struct({
            email: Schema.String,
            name: Schema.optional(Schema.String),
            admin: Schema.optional(Schema.Boolean)
          }),
          Result: Schema.Struct({ id: UserId, created: Schema.Boolean }),
          execute: (input) => sql`
        insert into users (email, name, platform_role)
        values (${input.email}, ${input.name?.slice(0, 200) ?? ""}, ${input.admin ? "ADMIN" : "CUSTOMER"})
        on conflict (lower(email)) do update set
          platform_role = case when ${input.admin === true} then 'ADMIN' else users.platform_role end,
          updated_at = case when ${input.admin === true} then now() else users.updated_at end
        returning id, (xmax = 0) as created`
        })(input)
      )

    /** Emails compare case-insensitively, as mail servers treat them in practice. */
    const findByEmail = SqlSchema.findOne({
      Request: Email,
      Result: User,
      execute: (email) => sql`select * from users where lower(email) = lower(${email})`
    })

    return {
      ensure,
      findById,
      findByEmail
    } as const
  })
}) {}
