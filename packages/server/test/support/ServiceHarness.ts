import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { startRedisServer } from "@tapline/testing/redisServer"
import { ConfigProvider, Context, Effect, Layer } from "effect"
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
