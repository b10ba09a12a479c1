import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { HttpServer } from "@effect/platform"
import { freePort } from "@tapline/testing/ports"
import { ConfigProvider, Context, Effect, Layer, Logger, LogLevel } from "effect"
import { AppConfig } from "../../src/Config/AppConfig.js"
import * as MemoryJobs from "../../src/Jobs/MemoryJobs.js"
import * as Runtime from "../../src/Runtime.js"
import { MigratedDatabase } from "./TestDatabase.js"
import { cleanupPrefix, redisUrl, uniquePrefix } from "./TestRedis.js"

export const TAP_DOMAIN = "tap.test"
export const DEFAULT_URL = "https://default.example/"

/** The whole HTTP server of one process (admin API and hot path) on a loopback port. */
export class AdminServer extends Context.Tag("test/AdminServer")<
  AdminServer,
  { readonly url: string; readonly port: number }
>() {}

/**
 * Real PostgreSQL (a fresh migrated database) and Redis (a fresh key prefix), composed as main.ts composes
 * the `api` role (or `all`, with the tap writer): read model, hot path, admin API. With `api`, taps are
 * recorded but no writer stores them.
 */
export const adminHarness = (
  env: Record<string, string> = {},
  options: { readonly role?: Runtime.Role; readonly logLevel?: LogLevel.LogLevel } = {}
) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const prefix = uniquePrefix("admin")
      const port = yield* Effect.promise(() => freePort())
      const spoolDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-spool-"))
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => Fs.rmSync(spoolDir, { recursive: true, force: true }))
      )
      const values: Record<string, string> = {
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        TAP_DOMAIN,
        DEFAULT_REDIRECT_URL: DEFAULT_URL,
        TAP_SPOOL_DIR: spoolDir,
        STORAGE_LOCAL_DIR: Path.join(spoolDir, "storage"),
        TAP_TRACE_RATIO: "0",
        LOG_LEVEL: "WARN",
        TAP_CLIENT_IP_HEADER: "x-forwarded-for",
        HOST: "127.0.0.1",
        PORT: String(port),
        TAPLINE_ENCRYPTION_KEYS: `1:${randomBytes(32).toString("base64")}`,
        // The tests' OIDC providers and stand-ins listen on loopback, which production refuses.
        OUTBOUND_ALLOW: "127.0.0.1,localhost",
        ...env
      }
      // An empty REDIS_URL asks for the embedded mode's in-memory backends.
      if (values.REDIS_URL === "") delete values.REDIS_URL
      // The prefix the keys really go to: a test may pass its own (two instances sharing one). A private
      // Redis goes away with its test.
      if (values.REDIS_URL === redisUrl) yield* cleanupPrefix(redisUrl, values.REDIS_KEY_PREFIX!)
      const config = AppConfig.layer.pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(values)))))
      )
      const server = Layer.effect(
        AdminServer,
        Effect.map(HttpServer.HttpServer, (server) => {
          const port = (server.address as HttpServer.TcpAddress).port
          return { url: `http://127.0.0.1:${port}`, port }
        })
      )
      const runtime = Runtime.forRole(options.role ?? "api", {
        database: MigratedDatabase,
        jobs: MemoryJobs.layer,
        demo: false
      })
      // The request logger would print every call of the matrix.
      return server.pipe(
        Layer.provideMerge(runtime),
        Layer.provideMerge(config),
        Layer.provide(Logger.minimumLogLevel(options.logLevel ?? LogLevel.Warning))
      )
    })
  )
