import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { migrate } from "../src/Database/Database.js"
import { latestMigrationId } from "../src/Database/migrations/index.js"
import { EmptyDatabase } from "./support/TestDatabase.js"

describe("migrations", () => {
  layer(EmptyDatabase, { excludeTestServices: true })((it) => {
    it.effect("apply to an empty database, then apply nothing the second time", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const first = yield* migrate
        expect(first.map(([id]) => id)).toContain(latestMigrationId)
        const second = yield* migrate
        expect(second).toEqual([])

        const tables = yield* sql<{ tableName: string }>`
          select table_name from information_schema.tables
          where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`
        expect(tables.map((t) => t.tableName)).toEqual(
          expect.arrayContaining([
            "organizations",
            "users",
            "memberships",
            "campaigns",
            "events",
            "windows",
            "bands",
            "tags",
            "band_tags",
            "taps",
            "taps_default",
            "tap_rollups_minute",
            "tap_rollups_hour",
            "band_activity_daily",
            "audit_log"
          ])
        )
      })
    )

    it.effect("create monthly tap partitions ahead of time", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const partitions = yield* sql<{ name: string }>`
          select c.relname as name from pg_inherits i
          join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
          where p.relname = 'taps' order by 1`
        const names = partitions.map((p) => p.name)
        const now = new Date()
        const month = (offset: number) => {
          const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1))
          return `taps_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, "0")}`
        }
        expect(names).toEqual(expect.arrayContaining([month(-1), month(0), month(1), month(2), month(3)]))
        // Running upkeep again creates nothing new.
        const [again] = yield* sql<{ created: number }>`select tapline_ensure_tap_partitions(1, 3) as created`
        expect(again?.created).toBe(0)
      })
    )
  })
})
