import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { CampaignId, type CampaignStatus, OrganizationId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie, WholeRow } from "../Database/Rows.js"

/** A campaigns row as PostgreSQL returns it (camelCase); the service decodes it for the API. */
export const CampaignRow = WholeRow(CampaignId)
export type CampaignRow = typeof CampaignRow.Type

const CampaignKey = Schema.Struct({ id: CampaignId, organizationId: OrganizationId })

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
        rowsOrDie(
          SqlSchema.findAll({
            Request: OrganizationId,
            Result: CampaignRow,
            execute: (organizationId) => sql`
          select * from campaigns where organization_id = ${organizationId}
            and deleted_at is ${query.deleted ? sql`not null` : sql`null`}
            ${query.status === undefined ? sql`` : sql`and status = ${query.status}`}
            ${query.after === null ? sql`` : sql`and id < ${query.after}`}
          order by id desc limit ${query.limit + 1}`
          })(organizationId)
        )

      /** `lock` takes the row for the rest of the transaction (`for update`). */
      const find = (
        organizationId: OrganizationId,
        id: CampaignId,
        options: { readonly deleted?: boolean; readonly lock?: boolean } = {}
      ) =>
        rowsOrDie(
          SqlSchema.findOne({
            Request: CampaignKey,
            Result: CampaignRow,
            execute: ({ id, organizationId }) => sql`
          select * from campaigns where id = ${id} and organization_id = ${organizationId}
            and deleted_at is ${options.deleted ? sql`not null` : sql`null`}
            ${options.lock ? sql`for update` : sql``}`
          })({ id, organizationId })
        ).pipe(Effect.map(Option.getOrUndefined))

      const insert = (row: {
        readonly organizationId: OrganizationId
        readonly name: string
        readonly status: CampaignStatus
        readonly startsOn: unknown
        readonly endsOn: unknown
      }) =>
        rowsOrDie(
          SqlSchema.single({
            Request: Schema.Void,
            Result: CampaignRow,
            execute: () => sql`insert into campaigns ${sql.insert(row)} returning *`
          })(undefined)
        )

      /** Columns as `patchColumns` gives them; the caller has checked the row belongs to the organisation. */
      const update = (id: CampaignId, columns: Readonly<Record<string, unknown>>) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: CampaignId,
            Result: CampaignRow,
            execute: (id) =>
              sql`update campaigns set ${sql.update(columns)}, updated_at = now() where id = ${id} returning *`
          })(id)
        )

      const setDeleted = (id: CampaignId, deleted: boolean) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: CampaignId,
            Result: CampaignRow,
            execute: (id) => sql`
          update campaigns set deleted_at = ${deleted ? sql`now()` : sql`null`}, updated_at = now()
          where id = ${id} returning *`
          })(id)
        )

      /** Deletes the row for good; the caller has unlinked its events. */
      const purge = (id: CampaignId) => sql`delete from campaigns where id = ${id}`

      /** Campaigns in the trash since before `before`, across organisations, oldest first (the purge job). */
      const trashedBefore = (before: Date, limit: number) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: Schema.DateFromSelf,
            Result: CampaignKey,
            execute: (before) => sql`
          select id, organization_id from campaigns where deleted_at < ${before}
          order by deleted_at limit ${limit}`
          })(before)
        )

      return { list, find, insert, update, setDeleted, purge, trashedBefore } as const
    })
  }
) {}
