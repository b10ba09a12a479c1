import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
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

  // pglite-socket ran each protocol message in turn across connections, so two pooled connections' Parse/Bind/
  // Execute/Sync batches interleaved on its one session: "bind message supplies 2 parameters, but prepared
  // statement requires 1", another query's rows, or a queue stuck for good (electric-sql/pglite#1046). A
  // transaction pins the session to its connection, which is what lets another's half-sent batch be overwritten.
  // Patched in patches/.
  it.live(
    "keeps each connection's extended-protocol batches apart under concurrent queries",
    () =>
      Effect.gen(function* () {
        const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-interleave-"))
        const answers = yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          return yield* Effect.forEach(
            Array.from({ length: 400 }, (_, i) => i),
            (i): Effect.Effect<ReadonlyArray<unknown>, SqlError> =>
              i % 5 === 0
                ? sql.withTransaction(
                    Effect.map(
                      sql<{
                        a: number
                        b: string
                        c: string
                      }>`select ${i}::int as a, 'x'::text as b, ${"y"}::text as c`,
                      (rows) => (rows[0]?.a === i ? [i, i] : [i, rows[0]])
                    )
                  )
                : i % 2 === 0
                  ? Effect.map(sql<{ a: number }>`select ${i}::int as a`, (rows) => [i, rows[0]?.a])
                  : Effect.map(
                      sql<{ a: number; b: string }>`select ${i}::int as a, ${`n${i}`}::text as b`,
                      (rows) => [i, rows[0]?.a, rows[0]?.b]
                    ),
            { concurrency: 16 }
          )
        }).pipe(
          Effect.provide(
            Layer.unwrapScoped(
              Effect.map(startEmbeddedPostgres(dataDir, 10), (server) =>
                layerPool({
                  url: server.url,
                  poolMax: 8,
                  connectTimeout: Duration.seconds(10),
                  applicationName: "tapline-test",
                  ssl: false,
                  sessionTimeouts: Option.none()
                })
              )
            )
          ),
          Effect.scoped
        )
        expect(answers).toEqual(
          Array.from({ length: 400 }, (_, i) => (i % 5 === 0 || i % 2 === 0 ? [i, i] : [i, i, `n${i}`]))
        )
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
