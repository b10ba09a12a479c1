import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type { SqlClient } from "@effect/sql"
import { type ConfigError, ConfigProvider, Context, Effect, Layer } from "effect"
import { AppConfig } from "../../src/Config/AppConfig.js"
import { layerPool, migrate } from "../../src/Database/Database.js"
import * as MemoryJobs from "../../src/Jobs/MemoryJobs.js"
import * as HotPath from "../../src/Redirect/HotPath.js"
import * as RedisConnection from "../../src/Redis/Redis.js"
import * as Runtime from "../../src/Runtime.js"
import { MigratedDatabase, poolOptions } from "./TestDatabase.js"
import { cleanupPrefix, redisUrl, uniquePrefix } from "./TestRedis.js"

export const TAP_DOMAIN = "tap.test"
export const DEFAULT_URL = "https://default.example/"

/** What a test needs to look at Redis itself: the harness's server and key prefix. */
export class HarnessInfo extends Context.Tag("test/HarnessInfo")<
  HarnessInfo,
  {
    readonly redisUrl: string
    readonly prefix: string
    readonly config: Layer.Layer<AppConfig, ConfigError.ConfigError>
  }
>() {}

/** The hot path listening on a loopback port, as main.ts wires it but without the admin stack. */
export class TapServer extends Context.Tag("test/TapServer")<TapServer, { readonly port: number }>() {}

export interface TapResponse {
  readonly status: number
  readonly location: string | undefined
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** A raw request, because fetch will not send a Host header of our choosing. */
export const request = (
  port: number,
  path: string,
  options: { host?: string; method?: string; headers?: Record<string, string> } = {}
) =>
  Effect.async<TapResponse>((resume) => {
    const req = Http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: {
          host: options.host ?? `acme.${TAP_DOMAIN}`,
          "user-agent":
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
          ...options.headers
        }
      },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk) => {
          body += chunk
        })
        res.on("end", () =>
          resume(
            Effect.succeed({
              status: res.statusCode ?? 0,
              location: res.headers.location,
              headers: res.headers,
              body
            })
          )
        )
      }
    )
    req.on("error", (error) => resume(Effect.die(error)))
    req.end()
  })

const serverLayer = Layer.scoped(
  TapServer,
  Effect.gen(function* () {
    const handler = yield* HotPath.HotPath
    const server = Http.createServer(handler)
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
        return undefined
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
          return undefined
        })
    )
    return { port: (server.address() as AddressInfo).port }
  })
)

/**
 * Real PostgreSQL (a fresh migrated database), real Redis (a fresh key prefix, removed afterwards), the
 * production layers for read model, hot path and pipeline, and optionally the tap writer.
 */
export const harness = (
  options: {
    readonly env?: Record<string, string>
    readonly writer?: boolean
    /** "memory": the embedded mode's read model and pipeline instead of Redis. */
    readonly backend?: "redis" | "memory"
    /** A server of the test's own (one it restarts) instead of a fresh database on the shared one. */
    readonly databaseUrl?: string
  } = {}
) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const prefix = uniquePrefix("hotpath")
      const spoolDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-spool-"))
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => Fs.rmSync(spoolDir, { recursive: true, force: true }))
      )
      const env: Record<string, string> = {
        ...(options.backend === "memory" ? {} : { REDIS_URL: redisUrl }),
        REDIS_KEY_PREFIX: prefix,
        TAP_DOMAIN,
        DEFAULT_REDIRECT_URL: DEFAULT_URL,
        TAP_SPOOL_DIR: spoolDir,
        STORAGE_LOCAL_DIR: Path.join(spoolDir, "storage"),
        TAP_LATITUDE_HEADER: "x-test-latitude",
        TAP_LONGITUDE_HEADER: "x-test-longitude",
        TAP_CLIENT_IP_HEADER: "x-forwarded-for",
        TAP_DUPLICATE_INTERVAL: "2 seconds",
        TAP_CLAIM_IDLE: "1 second",
        TAP_TRACE_RATIO: "0",
        ...options.env
      }
      // The prefix the keys really go to, whatever the test passed. A private Redis goes away with its test.
      if (env.REDIS_URL === redisUrl) yield* cleanupPrefix(redisUrl, env.REDIS_KEY_PREFIX!)
      const config = AppConfig.layer.pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      )
      const database =
        options.databaseUrl === undefined
          ? MigratedDatabase
          : Layer.effectDiscard(migrate).pipe(Layer.provideMerge(layerPool(poolOptions(options.databaseUrl))))
      const projector = Runtime.ReadModelLive.pipe(
        Layer.provideMerge(Runtime.platform({ database, jobs: MemoryJobs.layer })),
        Layer.provideMerge(config)
      )
      const hot = serverLayer.pipe(Layer.provideMerge(Runtime.HotPathLive), Layer.provideMerge(projector))
      const info = Layer.succeed(HarnessInfo, {
        redisUrl: env.REDIS_URL ?? "",
        prefix: env.REDIS_KEY_PREFIX!,
        config
      })
      const all =
        options.writer === false ? hot : Layer.merge(hot, Runtime.WriterLive.pipe(Layer.provide(projector)))
      return Layer.merge(all, info)
    })
  )

/** Polls PostgreSQL until `check` holds (the writer is asynchronous by design). */
export const eventually = <A>(
  query: Effect.Effect<A, unknown, SqlClient.SqlClient>,
  check: (a: A) => boolean,
  timeoutMs = 10_000
) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = yield* Effect.orDie(query)
      if (check(value)) return value
      if (Date.now() > deadline) return value
      yield* Effect.sleep("100 millis")
    }
  })

/** The harness's Redis with its key prefix, as the pipeline sees it. */
export const pipelineRedis = Layer.unwrapEffect(
  Effect.map(HarnessInfo, (info) => RedisConnection.layer.pipe(Layer.provide(info.config)))
)
