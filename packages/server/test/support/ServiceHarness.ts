import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { Principal } from "@tapline/domain"
import { startRedisServer } from "@tapline/testing/redisServer"
import { ConfigProvider, Context, Effect, Exit, Layer } from "effect"
import { Changes } from "../../src/Admin/Changes.js"
import { AppConfig } from "../../src/Config/AppConfig.js"
import * as MemoryJobs from "../../src/Jobs/MemoryJobs.js"
import { Projector } from "../../src/ReadModel/Projector.js"
import * as Runtime from "../../src/Runtime.js"
import { MigratedDatabase } from "./TestDatabase.js"

/**
 * Feature services over a fresh migrated database and the in-memory backends (Redis with `REDIS_URL` in `env`; no HTTP): for tests
 * of the rules a service holds, beside the HTTP suites that run the whole stack.
 */
export const serviceHarnessWith = (env: Record<string, string>) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-service-"))
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => Fs.rmSync(dataDir, { recursive: true, force: true }))
      )
      const config = AppConfig.layer.pipe(
        Layer.provide(
          Layer.setConfigProvider(
            ConfigProvider.fromMap(
              new Map([["TAPLINE_DATA_DIR", dataDir], ["LOG_LEVEL", "WARN"], ...Object.entries(env)])
            )
          )
        )
      )
      return Changes.Default.pipe(
        Layer.provideMerge(Projector.Default),
        Layer.provideMerge(Runtime.platform({ database: MigratedDatabase, jobs: MemoryJobs.layer })),
        Layer.provideMerge(config)
      )
    })
  )

export const serviceHarness = serviceHarnessWith({})

/** A Redis server of the test's own, which it may stop and start; provided beside what `build` makes on it. */
export class PrivateRedis extends Context.Tag("test/PrivateRedis")<
  PrivateRedis,
  Awaited<ReturnType<typeof startRedisServer>>
>() {}

export const onPrivateRedis = <A, E, R>(build: (redisUrl: string) => Layer.Layer<A, E, R>) =>
  Layer.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.promise(() => startRedisServer()),
        (server) => Effect.promise(() => server.dispose())
      ),
      (redis) => Layer.merge(build(redis.url), Layer.succeed(PrivateRedis, redis))
    )
  )

/** "succeeded", or the failure's cause as JSON: for asserting which typed error a service failed with. */
export const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) => (Exit.isFailure(exit) ? JSON.stringify(exit.cause) : "succeeded"))

/** The audit actions recorded on a resource, oldest first. */
export const auditActions = (resourceId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ action: string }>`select action from audit_log where resource_id = ${resourceId} order by id`.pipe(
      Effect.map((rows) => rows.map((row) => row.action))
    )
  )

/** An organisation's API key as the caller: no user behind it. */
export const apiKeyPrincipal = new Principal({
  actorType: "api_key",
  actorId: "k",
  userId: null,
  platformAdmin: false,
  roles: {}
})
