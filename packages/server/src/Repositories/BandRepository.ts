import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Band, BandUid, EventId, OrganizationId } from "@tapline/domain"
import { Effect, Schema } from "effect"

export class BandRepository extends Effect.Service<BandRepository>()("@tapline/server/BandRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const insert = SqlSchema.single({
      Request: Band.insert,
      Result: Band,
      execute: (row) => sql`insert into bands ${sql.insert(row)} returning *`
    })

    const findByUid = SqlSchema.findOne({
      Request: Schema.Struct({ organizationId: OrganizationId, eventId: EventId, bandUid: BandUid }),
      Result: Band,
      execute: ({ bandUid, eventId, organizationId }) => sql`
        select * from bands
        where organization_id = ${organizationId} and event_id = ${eventId} and band_uid = ${bandUid}
          and deleted_at is null`
    })

    /** Every event of the organisation holding this band id (a band may belong to several). */
    const findAllByUid = SqlSchema.findAll({
      Request: Schema.Struct({ organizationId: OrganizationId, bandUid: BandUid }),
      Result: Band,
      execute: ({ bandUid, organizationId }) => sql`
        select * from bands where organization_id = ${organizationId} and band_uid = ${bandUid} and deleted_at is null
        order by event_id`
    })

    /**
     * Adds plain bands in one statement; ids already in the event are left as they are.
     * Returns how many rows were new.
     */
    const insertUids = (input: {
      readonly organizationId: OrganizationId
      readonly eventId: EventId
      readonly bandUids: ReadonlyArray<BandUid>
    }) =>
      sql<{ inserted: string }>`
        with added as (
          insert into bands (organization_id, event_id, band_uid)
          select ${input.organizationId}, ${input.eventId}, uid from unnest(${input.bandUids}::text[]) as uid
          on conflict (event_id, band_uid) do nothing
          returning 1
        )
        select count(*) as inserted from added`.pipe(Effect.map((rows) => Number(rows[0]?.inserted ?? 0)))

    const countByEvent = (input: { readonly organizationId: OrganizationId; readonly eventId: EventId }) =>
      sql<{ count: string }>`
        select count(*) as count from bands
        where organization_id = ${input.organizationId} and event_id = ${input.eventId} and deleted_at is null`.pipe(
        Effect.map((rows) => Number(rows[0]?.count ?? 0))
      )

    return { insert, findByUid, findAllByUid, insertUids, countByEvent } as const
  })
}) {}
