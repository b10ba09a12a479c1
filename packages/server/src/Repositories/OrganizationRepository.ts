import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Organization, OrganizationId, Slug } from "@tapline/domain"
import { Effect } from "effect"

export class OrganizationRepository extends Effect.Service<OrganizationRepository>()(
  "@tapline/server/OrganizationRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const insert = SqlSchema.single({
        Request: Organization.insert,
        Result: Organization,
        execute: (row) => sql`insert into organizations ${sql.insert(row)} returning *`
      })

      const update = SqlSchema.single({
        Request: Organization.update,
        Result: Organization,
        execute: (row) =>
          sql`update organizations set ${sql.update(row, ["id"])} where id = ${row.id} returning *`
      })

      const findById = SqlSchema.findOne({
        Request: OrganizationId,
        Result: Organization,
        execute: (id) => sql`select * from organizations where id = ${id} and deleted_at is null`
      })

      const findBySlug = SqlSchema.findOne({
        Request: Slug,
        Result: Organization,
        execute: (slug) => sql`select * from organizations where slug = ${slug} and deleted_at is null`
      })

      const softDelete = (id: OrganizationId) =>
        sql`update organizations set deleted_at = now(), updated_at = now() where id = ${id} and deleted_at is null`

      return { insert, update, findById, findBySlug, softDelete } as const
    })
  }
) {}
