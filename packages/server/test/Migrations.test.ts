import * as NodeContext from "@effect/platform-node/NodeContext"
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { migrate } from "../src/Database/Database.js"
import { latestMigrationId, migrations } from "../src/Database/migrations/index.js"
import { EmptyDatabase } from "./support/TestDatabase.js"

const migrateUpTo = (last: number) =>
  PgMigrator.run({
    loader: Migrator.fromRecord(
      Object.fromEntries(Object.entries(migrations).filter(([key]) => Number.parseInt(key, 10) <= last))
    )
  }).pipe(Effect.provide(NodeContext.layer))

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

  layer(EmptyDatabase, { excludeTestServices: true })((it) => {
    it.effect("0008 rewrites stored URLs to their serialised form and re-projects those tenants", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* migrateUpTo(7)
        // What versions before 0008 stored as typed.
        const [org] = yield* sql<{ id: string }>`
          insert into organizations (slug, name, website_url, branding)
          values ('old', 'Old', ${"https://bücher.example/"}, ${JSON.stringify({ logoUrl: "https://x.example/ü" })})
          returning id`
        const [event] = yield* sql<{ id: string }>`
          insert into events (organization_id, name, fallback_url)
          values (${org!.id}, 'e', ${"https://example.com/a\r\nb"}) returning id`
        yield* sql`
          insert into windows (organization_id, event_id, type, url, starts_at, ends_at)
          values (${org!.id}, ${event!.id}, 'LIVE', ${"https://example.jp/イベント"}, now(), now() + interval '1 hour')`
        const [before] = yield* sql<{ version: string }>`
          select version from read_model_versions where organization_id = ${org!.id}`

        yield* migrate
        const [row] = yield* sql<{ website: string; logo: string; fallback: string; window: string }>`
          select o.website_url as website, o.branding->>'logoUrl' as logo, e.fallback_url as fallback, w.url as window
          from organizations o join events e on e.organization_id = o.id join windows w on w.event_id = e.id`
        expect(row).toEqual({
          website: "https://xn--bcher-kva.example/",
          logo: "https://x.example/%C3%BC",
          fallback: "https://example.com/ab",
          window: "https://example.jp/%E3%82%A4%E3%83%99%E3%83%B3%E3%83%88"
        })
        const [after] = yield* sql<{ version: string }>`
          select version from read_model_versions where organization_id = ${org!.id}`
        expect(Number(after!.version)).toBeGreaterThan(Number(before!.version))
        // From now on PostgreSQL itself refuses what would break a Location header.
        const refused = yield* sql`update windows set url = ${"https://example.com/\n"}`.pipe(Effect.flip)
        expect(String((refused.cause as { code?: string }).code)).toBe("23514")
      })
    )
  })
})
