import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Option } from "effect"
import { layerPool, migrate } from "../src/Database/Database.js"
import { seedDemo } from "../src/Demo/DemoSeed.js"
import { startEmbeddedPostgres } from "../src/Embedded/EmbeddedPostgres.js"

const embeddedDatabase = (dataDir: string) =>
  Layer.unwrapScoped(
    Effect.map(startEmbeddedPostgres(dataDir, 4), (server) =>
      layerPool({
        url: server.url,
        poolMax: 2,
        connectTimeout: Duration.seconds(10),
        applicationName: "tapline-test",
        ssl: false,
        sessionTimeouts: Option.none()
      })
    )
  )

describe("embedded PostgreSQL", () => {
  it.live(
    "runs the same migrations unmodified, enforces their constraints, and keeps data across restarts",
    () =>
      Effect.gen(function* () {
        const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-embedded-"))
        const firstRun = Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* migrate
          const seeded = yield* seedDemo
          const overlap = yield* Effect.exit(sql`
            insert into windows (organization_id, event_id, type, url, starts_at, ends_at)
            values (${seeded.organizationId}, ${seeded.eventId}, 'LIVE', 'https://example.com/x', now(), now() + interval '1 minute')`)
          expect(Exit.isFailure(overlap)).toBe(true)
          return seeded
        }).pipe(Effect.provide(embeddedDatabase(dataDir)), Effect.scoped)
        const seeded = yield* firstRun

        const secondRun = Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          expect(yield* migrate).toEqual([])
          const [row] = yield* sql<{
            count: string
          }>`select count(*) as count from bands where event_id = ${seeded.eventId}`
          return Number(row?.count)
        }).pipe(Effect.provide(embeddedDatabase(dataDir)), Effect.scoped)
        expect(yield* secondRun).toBe(1000)
        Fs.rmSync(dataDir, { recursive: true, force: true })
      }),
    60_000
  )

  it.live("refuses a data folder another live process holds", () =>
    Effect.gen(function* () {
      const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-locked-"))
      // pid 1 is always alive and never this process.
      Fs.writeFileSync(Path.join(dataDir, "tapline.lock"), "1")
      const exit = yield* Effect.exit(Effect.scoped(startEmbeddedPostgres(dataDir, 2)))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain("another Tapline process (pid 1)")
      Fs.rmSync(dataDir, { recursive: true, force: true })
    })
  )
})
