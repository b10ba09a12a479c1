import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { OrganizationId } from "@tapline/domain"
import { Duration, Effect, Layer } from "effect"
import { BandRepository } from "../Bands/BandRepository.js"
import { Bands } from "../Bands/Bands.js"
import { CampaignRepository } from "../Campaigns/CampaignRepository.js"
import { Campaigns } from "../Campaigns/Campaigns.js"
import { AppConfig } from "../Config/AppConfig.js"
import { EventRepository } from "../Events/EventRepository.js"
import { Events } from "../Events/Events.js"
import { Changes } from "./Changes.js"

/** Items purged per look at the trash; the job looks again until a look finds fewer. */
const BATCH = 200

/**
 * The trash kept for TRASH_RETENTION (DESIGN.md §2), then purged by the recurring job exactly as an OWNER's
 * `DELETE …?purge=true` purges: the same rules, audit entry (by the system) and read-model projection.
 * Events go first, taking their bands with them; then the bands left, then campaigns (unlinking events).
 */
export class TrashPurge extends Effect.Service<TrashPurge>()("@tapline/server/TrashPurge", {
  effect: Effect.gen(function* () {
    const { jobs } = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const campaigns = yield* Campaigns
    const events = yield* Events
    const bands = yield* Bands
    const campaignRows = yield* CampaignRepository
    const eventRows = yield* EventRepository
    const bandRows = yield* BandRepository

    /*
     * One item at a time, each its own transaction. An item restored or purged meanwhile (Conflict, NotFound)
     * is skipped: it no longer matches, so the next look does not find it again. Any other failure fails the
     * job, which the queue retries.
     */
    const purgeAll = <Id>(
      find: (
        before: Date
      ) => Effect.Effect<ReadonlyArray<{ id: Id; organizationId: OrganizationId }>, SqlError>,
      purge: (
        organizationId: OrganizationId,
        id: Id
      ) => Effect.Effect<void, { readonly _tag: string }, SqlClient.SqlClient>
    ) =>
      Effect.gen(function* () {
        const before = new Date(Date.now() - Duration.toMillis(jobs.trashRetention))
        let purged = 0
        for (;;) {
          const rows = yield* Effect.orDie(find(before))
          for (const row of rows) {
            const done = yield* purge(row.organizationId, row.id).pipe(
              Effect.as(true),
              Effect.catchIf(
                (error) => error._tag === "NotFound" || error._tag === "Conflict",
                () => Effect.succeed(false)
              )
            )
            if (done) purged++
          }
          if (rows.length < BATCH) return purged
        }
      })

    const run = Effect.gen(function* () {
      const purged = {
        events: yield* purgeAll((before) => eventRows.trashedBefore(before, BATCH), events.purge),
        bands: yield* purgeAll((before) => bandRows.trashedBefore(before, BATCH), bands.purge),
        campaigns: yield* purgeAll((before) => campaignRows.trashedBefore(before, BATCH), campaigns.purge)
      }
      if (purged.events + purged.bands + purged.campaigns > 0) {
        yield* Effect.logInfo("trash purged").pipe(Effect.annotateLogs(purged))
      }
      return purged
    }).pipe(Effect.provideService(SqlClient.SqlClient, sql), Effect.withSpan("TrashPurge.run"))

    return { run } as const
  }),
  dependencies: [
    Campaigns.Default,
    Events.Default,
    Bands.Default,
    CampaignRepository.Default,
    EventRepository.Default,
    BandRepository.Default
  ]
}) {}

/** The purge with the unit of work the API uses (webhook outbox included), for the job workers. */
export const TrashPurgeLive = TrashPurge.Default.pipe(Layer.provide(Changes.Default))
