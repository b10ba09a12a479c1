import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { classifyDevice, DEVICE_PREFIX, type Device } from "../Taps/Device.js"

export interface Backfilled {
  readonly classified: number
  readonly batches: number
}

/**
 * Classifies every tap stored without a device (before migration 0016, or by a writer of the previous version
 * during a rolling upgrade) with the writer's own rule, `limit` taps a transaction, oldest first, and marks
 * their hours dirty so the rollup job replaces those hours' `unknown` device rollups. Short transactions: the
 * writer and other instances' batches go on beside it (SKIP LOCKED).
 *
 * The batches walk the partial index from a cursor: each one starts where the last ended, not at the index's
 * head, where the entries of rows already classified pile up until vacuum (a scan from the head grew with the
 * work done: 1 M taps took 264 s). Rows stored behind the cursor meanwhile are the next run's.
 */
export const backfillDevices = (limit = 20_000) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    let after = new Date(0)
    let classified = 0
    let batches = 0
    for (;;) {
      const batch = yield* sql.withTransaction(
        Effect.gen(function* () {
          // Only the prefix the rule reads comes over the wire.
          const rows = yield* sql<{
            id: string
            tappedAt: Date
            eventId: string | null
            userAgent: string | null
          }>`
            select id, tapped_at, event_id, left(user_agent, ${DEVICE_PREFIX}) as user_agent
            from taps where device is null and tapped_at >= ${after}
            order by tapped_at limit ${limit} for update skip locked`
          if (rows.length === 0) return rows
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
          const ats = rows.map((row) => row.tappedAt)
          const input = sql`unnest(${rows.map((row) => row.id)}::uuid[], ${ats}::timestamptz[],
            ${rows.map((row) => row.eventId)}::uuid[], ${devices}::smallint[]) as v(id, tapped_at, event_id, device)`
          // The time bounds let PostgreSQL probe only the partitions the batch is in.
          yield* sql`
            update taps t set device = v.device from ${input}
            where t.id = v.id and t.tapped_at = v.tapped_at
              and t.tapped_at >= ${ats[0]!} and t.tapped_at <= ${ats[ats.length - 1]!}`
          yield* sql`
            insert into rollup_dirty (event_id, hour)
            select distinct event_id, date_trunc('hour', tapped_at) from ${input} where event_id is not null
            on conflict do nothing`
          return rows
        })
      )
      if (batch.length === 0) return { classified, batches } satisfies Backfilled
      classified += batch.length
      batches++
      after = batch[batch.length - 1]!.tappedAt
    }
  }).pipe(Effect.withSpan("DeviceBackfill.backfillDevices"))
