import * as NodeContext from "@effect/platform-node/NodeContext"
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AnalyticsRepository } from "../src/Analytics/AnalyticsRepository.js"
import { backfillDevices } from "../src/Analytics/DeviceBackfill.js"
import { rollupDirtyHours } from "../src/Analytics/Rollups.js"
import { migrations } from "../src/Database/migrations/index.js"
import { EmptyDatabase } from "./support/TestDatabase.js"
import { ANDROID, IPHONE, MAC } from "./support/UserAgents.js"

const migrateUpTo = (last: number) =>
  PgMigrator.run({
    loader: Migrator.fromRecord(
      Object.fromEntries(Object.entries(migrations).filter(([key]) => Number.parseInt(key, 10) <= last))
    )
  }).pipe(Effect.provide(NodeContext.layer))

/*
 * Taps stored before migration 0016 have no device. The migration counts their rollups as `unknown`; the
 * backfill classifies the raw rows still there and has their hours rolled up again, so only taps whose raw rows
 * retention removed before the backfill reached them stay `unknown`.
 */
layer(EmptyDatabase, { excludeTestServices: true, timeout: 120_000 })("device backfill", (it) => {
  it.effect("classifies taps stored before 0016, and rollups of taps retention removed stay unknown", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* migrateUpTo(15)
      const [org] = yield* sql<{ id: string }>`
        insert into organizations (slug, name) values ('old', 'Old') returning id`
      const event = (name: string) =>
        sql<{
          id: string
        }>`insert into events (organization_id, name) values (${org!.id}, ${name}) returning id`.pipe(
          Effect.map((rows) => rows[0]!.id)
        )
      const kept = yield* event("Kept")
      const gone = yield* event("Gone")
      yield* sql`create table taps_2001_04 partition of taps for values from ('2001-04-01') to ('2001-05-01')`
      // As the writer before 0016 stored them: no device column.
      const tap = (eventId: string, at: string, ua: string | null, bot = false) => sql`
        insert into taps (id, organization_id, event_id, band_uid, mode, redirect_kind, destination_url, tapped_at,
          user_agent, is_bot)
        values (gen_random_uuid(), ${org!.id}, ${eventId}, 'A', 'LIVE', 'FALLBACK', 'https://example.com/', ${at}::timestamptz,
          ${ua}::text, ${bot}::boolean)`
      const uas = [IPHONE, IPHONE, ANDROID, MAC, null, "x".repeat(1024 * 1024)]
      for (const [i, ua] of uas.entries()) yield* tap(kept, `2026-05-01T18:0${i}:00Z`, ua)
      yield* tap(kept, "2026-05-01T19:30:00Z", IPHONE, true)
      for (const i of [0, 1, 2]) yield* tap(gone, `2001-04-02T10:0${i}:00Z`, IPHONE)
      // The rollups as 0015's job wrote them.
      yield* sql`
        insert into tap_rollups_minute (organization_id, event_id, bucket, window_key, mode, redirect_kind, taps,
          bot_taps, duplicate_taps)
        select organization_id, event_id, date_trunc('minute', tapped_at), '00000000-0000-0000-0000-000000000000'::uuid,
          coalesce(mode, ''), redirect_kind, count(*) filter (where not is_bot), count(*) filter (where is_bot),
          count(*) filter (where is_duplicate and not is_bot)
        from taps group by 1, 2, 3, 4, 5, 6`
      // Retention removes the old event's raw rows before the upgrade.
      yield* sql`drop table taps_2001_04`

      yield* migrateUpTo(16)
      const repository = yield* AnalyticsRepository
      const breakdown = (eventId: string) => repository.devices([eventId], {})
      const unclassified = sql<{ n: string }>`select count(*) as n from taps where device is null`.pipe(
        Effect.map((rows) => Number(rows[0]!.n))
      )
      expect(yield* unclassified).toBe(7)
      // Right after the migration, the breakdown already sums to the totals, all of it unknown.
      expect(yield* breakdown(kept)).toEqual({ ios: 0, android: 0, other: 0, unknown: 6 })
      expect(yield* breakdown(gone)).toEqual({ ios: 0, android: 0, other: 0, unknown: 3 })

      // Small batches, so that it takes several.
      expect(yield* backfillDevices(2)).toEqual({ classified: 7, batches: 4 })
      expect(yield* unclassified).toBe(0)
      while ((yield* rollupDirtyHours()) > 0) {}
      expect(yield* breakdown(kept)).toEqual({ ios: 2, android: 1, other: 3, unknown: 0 })
      expect(yield* breakdown(gone)).toEqual({ ios: 0, android: 0, other: 0, unknown: 3 })
      const [bots] = yield* sql<{ n: string }>`
        select sum(bot_taps) as n from tap_rollups_device_minute where event_id = ${kept} and device = 1`
      expect(Number(bots!.n)).toBe(1)
      // Nothing left: a further run classifies nothing and marks nothing.
      expect(yield* backfillDevices(2)).toEqual({ classified: 0, batches: 0 })
      expect(yield* rollupDirtyHours()).toBe(0)
    }).pipe(Effect.provide(AnalyticsRepository.Default))
  )
})
