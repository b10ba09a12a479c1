import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { createDatabase } from "@tapline/testing/postgres"
import { Effect } from "effect"
import { layerPool, migrate } from "../src/Database/Database.js"
import { latestMigrationId } from "../src/Database/migrations/index.js"
import { poolOptions } from "./support/TestDatabase.js"

/*
 * Several instances started at once on a fresh database (an API and a worker deployed together) each migrate
 * at start. Each here has its own pool, as separate processes do: every one must start, the migrations
 * applied exactly once between them. Without the migration lock one of them failed to create the migrations
 * table the others were creating, or skipped its migrations and started on a half-built schema.
 */

const INSTANCES = 4

describe("migrations from several instances at once", () => {
  it.live(
    "every instance starts on a fresh database, and the migrations are applied once",
    () =>
      Effect.gen(function* () {
        for (let round = 0; round < 3; round++) {
          const database = yield* Effect.acquireRelease(
            Effect.promise(() => createDatabase("concurrent")),
            (db) => Effect.promise(() => db.drop())
          )
          const instance = migrate.pipe(
            Effect.zipLeft(
              // What a start does right after: a function the first migration creates.
              Effect.flatMap(SqlClient.SqlClient, (sql) => sql`select tapline_ensure_tap_partitions(1, 3)`)
            ),
            Effect.provide(layerPool(poolOptions(database.url)))
          )
          const applied = yield* Effect.all(
            Array.from({ length: INSTANCES }, () => instance),
            {
              concurrency: "unbounded"
            }
          )
          const ids = applied.flat().map(([id]) => id)
          expect(ids.filter((id) => id === latestMigrationId)).toHaveLength(1)
          expect(new Set(ids).size).toBe(ids.length)
        }
      }).pipe(Effect.scoped),
    120_000
  )
})
