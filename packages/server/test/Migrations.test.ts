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

  layer(EmptyDatabase, { excludeTestServices: true })((it) => {
    it.effect("0022 moves bands' registrants to their table and removes their values from the audit", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* migrateUpTo(21)
        const [org] = yield* sql<{ id: string }>`
          insert into organizations (slug, name) values ('reg', 'Reg') returning id`
        const [event] = yield* sql<{ id: string }>`
          insert into events (organization_id, name) values (${org!.id}, 'e') returning id`
        const [ann] = yield* sql<{ id: string }>`
          insert into bands (organization_id, event_id, band_uid, registrant_name, registrant_email)
          values (${org!.id}, ${event!.id}, 'M-1', 'Ann Old', 'ann.old@example.com') returning id`
        yield* sql`insert into bands (organization_id, event_id, band_uid) values (${org!.id}, ${event!.id}, 'M-2')`
        yield* sql`
          insert into audit_log (actor_type, organization_id, action, resource_type, resource_id, old_values, new_values)
          values ('system', ${org!.id}, 'band.update', 'band', ${ann!.id},
            ${JSON.stringify({ registrantName: "Ann Older", registrantEmail: "ann.old@example.com", flagged: false })},
            ${JSON.stringify({ registrantName: "Ann Old", registrantEmail: "ann.old@example.com", flagged: false })}),
            ('system', ${org!.id}, 'band.registered', 'band', ${ann!.id}, null,
            ${JSON.stringify({ registrantName: "Ann Older", registrantEmail: null, bandUid: "M-1" })})`

        yield* migrate
        const registrants = yield* sql`select name, email, source from registrants`
        expect(registrants).toEqual([{ name: "Ann Old", email: "ann.old@example.com", source: "migrated" }])
        const entries = yield* sql<{ action: string; oldValues: unknown; newValues: unknown }>`
          select action, old_values, new_values from audit_log order by id`
        expect(JSON.stringify(entries)).not.toMatch(/Ann Old|ann\.old@/)
        // By action: the two entries inserted in one statement share a millisecond, where v7 ids are random.
        const byAction = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) =>
          String(a[0]).localeCompare(String(b[0]))
        expect(
          entries.map((entry) => [entry.action, entry.oldValues, entry.newValues]).sort(byAction)
        ).toEqual(
          [
            ["band.update", { flagged: false }, { flagged: false, registrantName: "changed" }],
            ["band.registered", null, { bandUid: "M-1", registrantName: "changed" }],
            ["audit.redact", null, { entries: 2, reason: "registrant names and emails removed (0022)" }]
          ].sort(byAction)
        )
        // The log is append-only again.
        const refused = yield* sql`update audit_log set action = 'x'`.pipe(Effect.flip)
        expect(String((refused.cause as { message?: string }).message)).toContain("append-only")
      })
    )

    // Audit trails and logs are read "order by id": an update must never sort before its create.
    it.effect(
      "0030: ids made one after another sort in the order they were made, within a millisecond too",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* migrate
          const made: Array<string> = []
          for (let i = 0; i < 300; i++) {
            const [row] = yield* sql<{ id: string }>`select uuid_generate_v7()::text as id`
            made.push(row!.id)
          }
          expect([...made].sort()).toEqual(made)
          expect(new Set(made.map((id) => id[14])).size).toBe(1)
          expect(made[0]![14]).toBe("7")
          // Its first 48 bits are still the millisecond (RFC 9562), as 0001's were.
          const [clock] = yield* sql<{
            ms: string
          }>`select floor(extract(epoch from clock_timestamp()) * 1000)::text as ms`
          const last = Number.parseInt(made.at(-1)!.replace(/-/g, "").slice(0, 12), 16)
          expect(Number(clock!.ms) - last).toBeGreaterThanOrEqual(0)
          expect(Number(clock!.ms) - last).toBeLessThan(60_000)
        })
    )
  })
})
