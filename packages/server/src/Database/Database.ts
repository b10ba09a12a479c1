import * as Fs from "node:fs"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Duration, Effect, Layer, Option, Redacted, String as Str } from "effect"
import Pg from "pg"
import { AppConfig, type AppConfigShape } from "../Config/AppConfig.js"
import { type EmbeddedPostgresError, startEmbeddedPostgres } from "../Embedded/EmbeddedPostgres.js"
import { gauge, Metrics } from "../Telemetry/Metrics.js"
import { latestMigrationId, loader } from "./migrations/index.js"

type DatabaseConfig = AppConfigShape["database"]

export const sslOptions = (config: DatabaseConfig): Pg.PoolConfig["ssl"] => {
  switch (config.ssl) {
    case "disable":
      return false
    case "require":
      return { rejectUnauthorized: false }
    case "verify-full":
      return {
        rejectUnauthorized: true,
        ...Option.match(config.sslRootCert, {
          onNone: () => ({}),
          onSome: (file) => ({ ca: Fs.readFileSync(file, "utf8") })
        })
      }
  }
}

// int8 stays a string (counts can pass 2^53); date stays 'YYYY-MM-DD' (no local-time shift).
const DATE_OID = 1082
const types: Pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === DATE_OID ? (value: string) => value : Pg.types.getTypeParser(oid, format)) as never
}

const describeTarget = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`
  } catch {
    return "the configured server"
  }
}

const untrustedCertificate = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE"
])

/**
 * The one line an operator reads when the pool cannot open: a refused certificate says which variable to
 * look at, since "unable to verify the first certificate" alone reads like a network fault.
 */
const describeFailure = (options: PoolOptions, cause: unknown): string => {
  const target = describeTarget(options.url)
  const message = cause instanceof Error ? cause.message : String(cause)
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : ""
  const verifying = typeof options.ssl === "object" && options.ssl.rejectUnauthorized === true
  const tlsCheck = `PostgreSQL at ${target} failed the TLS check (DATABASE_SSL=verify-full)`
  if (verifying && code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    const host = URL.canParse(options.url) ? new URL(options.url).hostname : "the host"
    return `${tlsCheck}: the certificate does not name ${host} (${message}); connect by a name it lists`
  }
  if (verifying && untrustedCertificate.has(code)) {
    const roots =
      typeof options.ssl === "object" && options.ssl.ca !== undefined ? "" : " (unset: the system CAs)"
    return `${tlsCheck}: the certificate is not signed by a CA in DATABASE_SSL_ROOT_CERT${roots} (${message})`
  }
  return `PostgreSQL unreachable at ${target}: ${message}`
}

export interface PoolOptions {
  readonly url: string
  readonly poolMax: number
  readonly connectTimeout: Duration.Duration
  readonly applicationName: string
  readonly ssl: Pg.PoolConfig["ssl"]
  /** Left out for the embedded server, whose connections share one session. */
  readonly sessionTimeouts: Option.Option<{
    statement: Duration.Duration
    idleInTransaction: Duration.Duration
  }>
}

/** A `pg` pool checked with one round trip, closed with the scope. */
const acquirePool = (options: PoolOptions) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const pool = new Pg.Pool({
          connectionString: options.url,
          max: options.poolMax,
          connectionTimeoutMillis: Duration.toMillis(options.connectTimeout),
          idleTimeoutMillis: 30_000,
          application_name: options.applicationName,
          ssl: options.ssl,
          types,
          ...Option.match(options.sessionTimeouts, {
            onNone: () => ({}),
            onSome: (timeouts) => ({
              statement_timeout: Duration.toMillis(timeouts.statement),
              idle_in_transaction_session_timeout: Duration.toMillis(timeouts.idleInTransaction)
            })
          })
        })
        // An idle client's network error must not crash the process; the next query reports it.
        pool.on("error", () => {})
        try {
          await pool.query("select 1")
        } catch (cause) {
          await pool.end().catch(() => {})
          throw cause
        }
        return pool
      },
      catch: (cause) =>
        new SqlError({
          message: describeFailure(options, cause),
          cause
        })
    }),
    (pool) =>
      Effect.promise(() => pool.end()).pipe(
        Effect.interruptible,
        Effect.timeoutOption("2 seconds"),
        Effect.tap((ended) =>
          Option.isNone(ended)
            ? Effect.logWarning("PostgreSQL pool: queries still running after 2 s; leaving them")
            : Effect.void
        )
      )
  ).pipe(Effect.tap(poolGauges))

/** The pool's use, read at scrape time, where the runtime has metrics. */
const poolGauges = (pool: Pg.Pool) =>
  Effect.flatMap(Effect.serviceOption(Metrics), (metrics) =>
    Option.isNone(metrics)
      ? Effect.void
      : Effect.all([
          gauge(metrics.value, {
            name: "tapline_pg_pool_connections",
            help: "Connections the PostgreSQL pool holds (busy and idle)",
            read: async () => pool.totalCount
          }),
          gauge(metrics.value, {
            name: "tapline_pg_pool_idle_connections",
            help: "Idle connections in the PostgreSQL pool",
            read: async () => pool.idleCount
          }),
          gauge(metrics.value, {
            name: "tapline_pg_pool_waiting_requests",
            help: "Queries waiting for a connection (the pool is exhausted while this is above 0)",
            read: async () => pool.waitingCount
          })
        ])
  )

/** `@effect/sql-pg` over our own pool: snake_case columns in SQL, camelCase fields in code. */
export const layerPool = (
  options: PoolOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  PgClient.layerFromPool({
    acquire: acquirePool(options),
    applicationName: options.applicationName,
    transformQueryNames: Str.camelToSnake,
    transformResultNames: Str.snakeToCamel,
    // JSON columns (audit values, branding) are stored and returned exactly as given.
    transformJson: false,
    types
  })

/**
 * The database for this process: the configured server, or the embedded one when no DATABASE_URL is set.
 */
export const layer: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  SqlError | EmbeddedPostgresError,
  AppConfig
> = Layer.unwrapScoped(
  Effect.gen(function* () {
    const { database, embedded } = yield* AppConfig
    if (Option.isSome(database.url)) {
      return layerPool({
        url: Redacted.value(database.url.value),
        poolMax: database.poolMax,
        connectTimeout: database.connectTimeout,
        applicationName: database.applicationName,
        ssl: sslOptions(database),
        sessionTimeouts: Option.some({
          statement: database.statementTimeout,
          idleInTransaction: database.idleInTransactionTimeout
        })
      })
    }
    const poolMax = Math.min(database.poolMax, 4)
    const server = yield* startEmbeddedPostgres(embedded.dataDir, poolMax + 2)
    yield* Effect.logInfo("using embedded PostgreSQL").pipe(Effect.annotateLogs({ dataDir: server.dataDir }))
    return layerPool({
      url: server.url,
      poolMax,
      connectTimeout: database.connectTimeout,
      applicationName: database.applicationName,
      ssl: false,
      sessionTimeouts: Option.none()
    })
  })
)

/** Applies pending migrations (under the migrator's table lock, so concurrent starts are safe). */
/** Tapline's advisory lock key for migrations (any fixed number no other code uses). */
const MIGRATION_LOCK = 7_318_420_115

/**
 * Holds the migration lock for the scope, on a connection of its own. PgMigrator is not safe for two processes
 * on a fresh database: both find no migrations table and both create it (one fails), and a process that finds
 * the table locked skips its migrations and starts on a half-built schema. Two instances deployed at once
 * (an API and a worker) hit it; the lock makes the second wait and then find everything applied. A session
 * lock, not a transaction's: the migrator's first statement is expected to fail, which would abort one.
 */
const migrationLock = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const connection = yield* sql.reserve
  yield* connection.execute("select pg_advisory_lock($1)", [MIGRATION_LOCK], undefined)
  yield* Effect.addFinalizer(() =>
    connection.execute("select pg_advisory_unlock($1)", [MIGRATION_LOCK], undefined).pipe(Effect.ignore)
  )
})

export const migrate = Effect.zipRight(migrationLock, PgMigrator.run({ loader })).pipe(
  Effect.scoped,
  Effect.tap((applied) =>
    applied.length > 0
      ? Effect.logInfo("migrations applied").pipe(
          Effect.annotateLogs({ migrations: applied.map(([, name]) => name) })
        )
      : Effect.void
  ),
  Effect.provide(NodeContext.layer),
  Effect.withSpan("Database.migrate")
)

/** Keeps monthly tap partitions ready ahead of time; also a scheduled job once the job queue exists. */
export const ensureTapPartitions = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ created: number }>`select tapline_ensure_tap_partitions(1, 3) as created`
).pipe(Effect.map((rows) => rows[0]?.created ?? 0))

/** Start-up work: migrate (unless disabled) and create partitions. */
export const layerMigrated = Layer.effectDiscard(
  Effect.gen(function* () {
    const { database } = yield* AppConfig
    if (database.migrateOnStart || Option.isNone(database.url)) yield* migrate
    yield* ensureTapPartitions
  })
)

/** For readiness: the server answers and every migration this build knows is applied. */
export const checkReady = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{
    latest: number | null
  }>`select max(migration_id) as latest from effect_sql_migrations`
  return (rows[0]?.latest ?? 0) >= latestMigrationId
})
