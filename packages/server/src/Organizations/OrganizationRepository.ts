import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { OrganizationId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie, WholeRow } from "../Database/Rows.js"

/** An organizations row as PostgreSQL returns it (camelCase); the service decodes it and audits it as is. */
export const OrganizationRow = WholeRow(OrganizationId)
export type OrganizationRow = typeof OrganizationRow.Type

/** The only SQL on `organizations`. */
export class OrganizationRepository extends Effect.Service<OrganizationRepository>()(
  "@tapline/server/OrganizationRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      /** `memberOf` null lists every organisation (a platform admin's view). */
      const list = (query: {
        readonly memberOf: ReadonlyArray<string> | null
        readonly after: string | null
        readonly limit: number
      }) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: Schema.Void,
            Result: OrganizationRow,
            execute: () => sql`
          select * from organizations where deleted_at is null
            ${query.memberOf === null ? sql`` : sql`and id = any(${query.memberOf}::uuid[])`}
            ${query.after === null ? sql`` : sql`and id < ${query.after}`}
          order by id desc limit ${query.limit + 1}`
          })(undefined)
        )

      /** `lock` takes the row for the rest of the transaction (`for update`). */
      const find = (id: OrganizationId, options: { readonly lock?: boolean } = {}) =>
        rowsOrDie(
          SqlSchema.findOne({
            Request: OrganizationId,
            Result: OrganizationRow,
            execute: (id) => sql`
          select * from organizations where id = ${id} and deleted_at is null
            ${options.lock ? sql`for update` : sql``}`
          })(id)
        ).pipe(Effect.map(Option.getOrUndefined))

      const insertRow = (row: {
        readonly slug: string
        readonly name: string
        readonly websiteUrl: string | null
        readonly contactEmail: string | null
        readonly branding: unknown
      }) =>
        rowsOrDie(
          SqlSchema.single({
            Request: Schema.Void,
            Result: OrganizationRow,
            execute: () => sql`
          insert into organizations ${sql.insert({ ...row, branding: JSON.stringify(row.branding) })}
          returning *`
          })(undefined)
        )

      /** Columns as `patchColumns` gives them. */
      const updateColumns = (id: OrganizationId, columns: Readonly<Record<string, unknown>>) => {
        const values =
          "branding" in columns ? { ...columns, branding: JSON.stringify(columns.branding) } : columns
        return rowsOrDie(
          SqlSchema.findAll({
            Request: OrganizationId,
            Result: OrganizationRow,
            execute: (id) => sql`
          update organizations set ${sql.update(values)}, updated_at = now() where id = ${id} returning *`
          })(id)
        )
      }

      const softDelete = (id: OrganizationId) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: OrganizationId,
            Result: OrganizationRow,
            execute: (id) => sql`
          update organizations set deleted_at = now(), updated_at = now()
          where id = ${id} and deleted_at is null returning *`
          })(id)
        )

      /** Deleted organisations count too: their slug stays theirs. */
      const slugExists = (slug: string) =>
        sql`select 1 from organizations where slug = ${slug}`.pipe(Effect.map((rows) => rows.length > 0))

      return {
        list,
        find,
        insertRow,
        updateColumns,
        softDelete,
        slugExists
      } as const
    })
  }
) {}
