import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { classifyDevice, DEVICE_PREFIX, type Device } from "../Taps/Device.js"

/**
 * Classifies up to `limit` taps stored without a device (before migration 0016, or by a writer of the previous
 * version during a rolling upgrade) with the writer's own rule, and marks their hours dirty so the rollup job
 * replaces those hours' `unknown` device rollups. One short transaction per batch: the writer and other
 * instances' batches go on beside it (SKIP LOCKED). Returns how many taps it classified; 0 when none is left.
 */
export const backfillDevices = (limit = 5_000) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        // The partial index holds exactly these rows; only the prefix the rule reads comes over the wire.
        const rows = yield* sql<{
          id: string
          tappedAt: Date
          eventId: string | null
          userAgent: string | null
        }>`
          select id, tapped_at, event_id, left(user_agent, ${DEVICE_PREFIX}) as user_agent
          from taps where device is null limit ${limit} for update skip locked`
        if (rows.length === 0) return 0
        // User agents repeat a lot: each distinct one is classified once per batch.
        const seen = new Map<string | null, Device>()
        const devices = rows.map((row) => {
          let device = seen.get(row.userAgent)
          if (device === undefined) {
            device = classifyDevice(row.userAgent)
            seen.set(row.userAgent, device)
          }
          return device
        })
        const input = sql`unnest(${rows.map((row) => row.id)}::uuid[], ${rows.map((row) => row.tappedAt)}::timestamptz[],
          ${rows.map((row) => row.eventId)}::uuid[], ${devices}::smallint[]) as v(id, tapped_at, event_id, device)`
        yield* sql`
          update taps t set device = v.device from ${input}
          where t.id = v.id and t.tapped_at = v.tapped_at`
        yield* sql`
          insert into rollup_dirty (event_id, hour)
          select distinct event_id, date_trunc('hour', tapped_at) from ${input} where event_id is not null
          on conflict do nothing`
        return rows.length
      })
    )
  }).pipe(Effect.withSpan("DeviceBackfill.backfillDevices"))
