import * as SqlClient from "@effect/sql/SqlClient"
import type { OrganizationId } from "@tapline/domain"
import { Effect } from "effect"

/** An organizations row as PostgreSQL returns it (camelCase); the service decodes it and audits it as is. */
export type OrganizationRow = { readonly id: OrganizationId } & Readonly<Record<string, unknown>>

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
        sql<OrganizationRow>`
          select * from organizations where deleted_at is null
            ${query.memberOf === null ? sql`` : sql`and id = any(${query.memberOf}::uuid[])`}
            ${query.after === null ? sql`` : sql`and id < ${query.after}`}
          order by id desc limit ${query.limit + 1}`

      /** `lock` takes the row for the rest of the transaction (`for update`). */
      const find = (id: OrganizationId, options: { readonly lock?: boolean } = {}) =>
        sql<OrganizationRow>`
          select * from organizations where id = ${id} and deleted_at is null
            ${options.lock ? sql`for update` : sql``}`.pipe(Effect.map((rows) => rows[0]))

      const insertRow = (row: {
        readonly slug: string
        readonly name: string
        readonly websiteUrl: string | null
        readonly contactEmail: string | null
        readonly branding: unknown
      }) =>
        sql<OrganizationRow>`
          insert into organizations ${sql.insert({ ...row, branding: JSON.stringify(row.branding) })}
          returning *`.pipe(Effect.map((rows) => rows[0]!))

      /** Columns as `patchColumns` gives them. */
      const updateColumns = (id: OrganizationId, columns: Readonly<Record<string, unknown>>) => {
        const values =
          "branding" in columns ? { ...columns, branding: JSON.stringify(columns.branding) } : columns
        return sql<OrganizationRow>`
          update organizations set ${sql.update(values)}, updated_at = now() where id = ${id} returning *`
      }

      const softDelete = (id: OrganizationId) =>
        sql<OrganizationRow>`
          update organizations set deleted_at = now(), updated_at = now()
          where id = ${id} and deleted_at is null returning *`

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
