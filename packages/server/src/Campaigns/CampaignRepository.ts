import * as SqlClient from "@effect/sql/SqlClient"
import type { CampaignId, CampaignStatus, OrganizationId } from "@tapline/domain"
import { Effect } from "effect"

/** A campaigns row as PostgreSQL returns it (camelCase); the service decodes it for the API. */
export type CampaignRow = { readonly id: CampaignId } & Readonly<Record<string, unknown>>

export interface CampaignQuery {
  readonly deleted: boolean
  readonly status?: CampaignStatus | undefined
  /** The id the previous page ended with. */
  readonly after: string | null
  readonly limit: number
}

/** The only SQL on `campaigns`. Every statement names the organisation: a foreign id finds nothing. */
export class CampaignRepository extends Effect.Service<CampaignRepository>()(
  "@tapline/server/CampaignRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const list = (organizationId: OrganizationId, query: CampaignQuery) =>
        sql<CampaignRow>`
          select * from campaigns where organization_id = ${organizationId}
            and deleted_at is ${query.deleted ? sql`not null` : sql`null`}
            ${query.status === undefined ? sql`` : sql`and status = ${query.status}`}
            ${query.after === null ? sql`` : sql`and id < ${query.after}`}
          order by id desc limit ${query.limit + 1}`

      /** `lock` takes the row for the rest of the transaction (`for update`). */
      const find = (
        organizationId: OrganizationId,
        id: CampaignId,
        options: { readonly deleted?: boolean; readonly lock?: boolean } = {}
      ) =>
        sql<CampaignRow>`
          select * from campaigns where id = ${id} and organization_id = ${organizationId}
            and deleted_at is ${options.deleted ? sql`not null` : sql`null`}
            ${options.lock ? sql`for update` : sql``}`.pipe(Effect.map((rows) => rows[0]))

      const insert = (row: {
        readonly organizationId: OrganizationId
        readonly name: string
        readonly status: CampaignStatus
        readonly startsOn: unknown
        readonly endsOn: unknown
      }) =>
        sql<CampaignRow>`insert into campaigns ${sql.insert(row)} returning *`.pipe(
          Effect.map((rows) => rows[0]!)
        )

      /** Columns as `patchColumns` gives them; the caller has checked the row belongs to the organisation. */
      const update = (id: CampaignId, columns: Readonly<Record<string, unknown>>) =>
        sql<CampaignRow>`update campaigns set ${sql.update(columns)}, updated_at = now() where id = ${id} returning *`

      const setDeleted = (id: CampaignId, deleted: boolean) =>
        sql<CampaignRow>`
          update campaigns set deleted_at = ${deleted ? sql`now()` : sql`null`}, updated_at = now()
          where id = ${id} returning *`

      /** Deletes the row for good; the caller has unlinked its events. */
      const purge = (id: CampaignId) => sql`delete from campaigns where id = ${id}`

      /** Campaigns in the trash since before `before`, across organisations, oldest first (the purge job). */
      const trashedBefore = (before: Date, limit: number) =>
        sql<{ id: CampaignId; organizationId: OrganizationId }>`
          select id, organization_id from campaigns where deleted_at < ${before}
          order by deleted_at limit ${limit}`

      return { list, find, insert, update, setDeleted, purge, trashedBefore } as const
    })
  }
) {}
