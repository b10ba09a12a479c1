import {
  Config,
  ConfigError,
  Context,
  Duration,
  Effect,
  Either,
  Layer,
  LogLevel,
  Option,
  Redacted
} from "effect"
import * as AiConfig from "../Ai/AiConfig.js"
import { brokerCa } from "../Brokers/BrokerConfig.js"
import * as EmailConfig from "../Email/EmailConfig.js"
import * as PushConfig from "../Push/PushConfig.js"
import * as SmsConfig from "../Sms/SmsConfig.js"
import * as StorageConfig from "../Storage/StorageConfig.js"

const DatabaseSsl = Config.literal("disable", "require", "verify-full")("DATABASE_SSL")
const RedisMode = Config.literal("standalone", "sentinel", "cluster")("REDIS_MODE")

/*
 * Validation failures carry no variable name of their own: validated values are read unnamed and then
 * placed under their name with Config.nested, so every error line names the variable.
 */

/** `host:port` pairs, comma separated, for Sentinel and Cluster seeds. */
const hostList = (name: string) =>
  Config.array(Config.string()).pipe(
    Config.mapOrFail((entries) => {
      const parsed = entries.map((entry) => {
        const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(entry.trim())
        return match ? { host: match[1]!, port: Number(match[2]) } : undefined
      })
      return parsed.every((node) => node !== undefined)
        ? Either.right(parsed as ReadonlyArray<{ host: string; port: number }>)
        : Either.left(ConfigError.InvalidData([], "expected host:port pairs separated by commas"))
    }),
    Config.nested(name),
    Config.withDefault([])
  )

const SIZE_UNITS: Record<string, number> = { "": 1, KB: 1024, MB: 1024 * 1024 }

/** A size in bytes: `1048576`, `512KB` or `1MB` (units of 1 024). */
const byteSize = (name: string, fallback: number) =>
  Config.string().pipe(
    Config.mapOrFail((text) => {
      const match = /^(\d+)\s*(KB|MB)?$/i.exec(text.trim())
      const bytes = match ? Number(match[1]) * SIZE_UNITS[(match[2] ?? "").toUpperCase()]! : Number.NaN
      return Number.isSafeInteger(bytes) && bytes > 0
        ? Either.right(bytes)
        : Either.left(ConfigError.InvalidData([], "expected a size in bytes, such as 1048576, 512KB or 1MB"))
    }),
    Config.nested(name),
    Config.withDefault(fallback)
  )

const server = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  port: Config.port("PORT").pipe(Config.withDefault(3000)),
  tapDomain: Config.string("TAP_DOMAIN").pipe(Config.withDefault("localhost")),
  publicUrl: Config.option(Config.url("PUBLIC_URL")),
  defaultRedirectUrl: Config.url().pipe(
    Config.validate({
      message: "expected an http:// or https:// URL",
      validation: (url) => url.protocol === "http:" || url.protocol === "https:"
    }),
    Config.nested("DEFAULT_REDIRECT_URL"),
    Config.withDefault(new URL("https://tapline.example/"))
  ),
  shutdownTimeout: Config.duration("SHUTDOWN_TIMEOUT").pipe(Config.withDefault(Duration.seconds(15))),
  /**
   * After a stop signal, how long readiness answers 503 while requests are still served, so a balancer's
   * health checks take the process out of rotation before its listener closes. Part of SHUTDOWN_TIMEOUT.
   */
  drainDelay: Config.duration("SHUTDOWN_DRAIN_DELAY").pipe(Config.withDefault(Duration.seconds(5))),
  /** The largest request body a route takes, counted while it streams in (band imports take more). */
  maxBody: byteSize("HTTP_MAX_BODY", 1024 * 1024)
}).pipe(
  Config.mapOrFail((server) =>
    Duration.lessThan(server.drainDelay, server.shutdownTimeout)
      ? Either.right(server)
      : Either.left(
          ConfigError.InvalidData(
            ["SHUTDOWN_DRAIN_DELAY"],
            `must be shorter than SHUTDOWN_TIMEOUT (${Duration.format(server.shutdownTimeout)}), which includes it`
          )
        )
  )
)

/*
 * pg reads TLS parameters from the URL over the `ssl` option Tapline gives it: `?sslmode=disable` would
 * quietly turn DATABASE_SSL=verify-full off, and its `require` means verify-full against the system CAs.
 * One place decides TLS, and the URL pasted from a provider's console says what to change.
 */
const urlTlsParameters = ["sslmode", "ssl", "sslrootcert", "sslcert", "sslkey", "uselibpqcompat"]

const databaseUrl = Config.redacted().pipe(
  Config.mapOrFail((url) => {
    const parameters = URL.canParse(Redacted.value(url))
      ? new URL(Redacted.value(url)).searchParams
      : undefined
    const found = urlTlsParameters.filter((name) => parameters?.has(name) === true)
    return found.length === 0
      ? Either.right(url)
      : Either.left(
          ConfigError.InvalidData(
            [],
            `TLS is set by DATABASE_SSL and DATABASE_SSL_ROOT_CERT, not in the URL; remove ${found.join(", ")} ` +
              "from it (sslmode=verify-full becomes DATABASE_SSL=verify-full, sslrootcert DATABASE_SSL_ROOT_CERT)"
          )
        )
  }),
  Config.nested("DATABASE_URL")
)

const database = Config.all({
  url: Config.option(databaseUrl),
  poolMax: Config.integer().pipe(
    Config.validate({ message: "expected an integer from 1 to 500", validation: (n) => n >= 1 && n <= 500 }),
    Config.nested("DATABASE_POOL_MAX"),
    Config.withDefault(10)
  ),
  connectTimeout: Config.duration("DATABASE_CONNECT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(5))),
  statementTimeout: Config.duration("DATABASE_STATEMENT_TIMEOUT").pipe(
    Config.withDefault(Duration.seconds(30))
  ),
  idleInTransactionTimeout: Config.duration("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT").pipe(
    Config.withDefault(Duration.seconds(60))
  ),
  applicationName: Config.string("DATABASE_APPLICATION_NAME").pipe(Config.withDefault("tapline")),
  ssl: DatabaseSsl.pipe(Config.withDefault("disable" as const)),
  sslRootCert: Config.option(Config.string("DATABASE_SSL_ROOT_CERT")),
  migrateOnStart: Config.boolean("DATABASE_MIGRATE_ON_START").pipe(Config.withDefault(true))
})

const redis = Config.all({
  url: Config.option(Config.redacted("REDIS_URL")),
  mode: RedisMode.pipe(Config.withDefault("standalone" as const)),
  sentinels: hostList("REDIS_SENTINELS"),
  sentinelMasterName: Config.string("REDIS_SENTINEL_MASTER").pipe(Config.withDefault("mymaster")),
  clusterNodes: hostList("REDIS_CLUSTER_NODES"),
  username: Config.option(Config.string("REDIS_USERNAME")),
  password: Config.option(Config.redacted("REDIS_PASSWORD")),
  tls: Config.boolean("REDIS_TLS").pipe(Config.withDefault(false)),
  tlsCaFile: Config.option(Config.string("REDIS_TLS_CA_FILE")),
  keyPrefix: Config.string("REDIS_KEY_PREFIX").pipe(Config.withDefault("tapline:")),
  connectTimeout: Config.duration("REDIS_CONNECT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(5)))
})

const embedded = Config.all({
  dataDir: Config.string("TAPLINE_DATA_DIR").pipe(Config.withDefault(".tapline")),
  demo: Config.boolean("TAPLINE_DEMO").pipe(Config.withDefault(false))
})

const positive = (name: string, fallback: number) =>
  Config.integer().pipe(
    Config.validate({ message: "expected a positive integer", validation: (n) => n > 0 }),
    Config.nested(name),
    Config.withDefault(fallback)
  )

/** Roles that serve the redirect (and record taps): a balancer drains them at a stop. */
export const servesTaps = (role: "all" | "api" | "worker" | "jobs") => role === "all" || role === "api"

/** Roles that run the tap writer (and the stream's sinks). */
export const writesTaps = (role: "all" | "api" | "worker" | "jobs") => role === "all" || role === "worker"

const taps = Config.all({
  /**
   * all: hot path, admin API and tap writer; api: no writer; worker: the writer and background jobs (and
   * health); jobs: background jobs only (and health). Where jobs run is JOBS_ENABLED's.
   */
  role: Config.literal(
    "all",
    "api",
    "worker",
    "jobs"
  )("TAPLINE_ROLE").pipe(Config.withDefault("all" as const)),
  // Past it taps wait in the journal only (replayed from disk): a bound on memory, not on what is kept.
  bufferMax: positive("TAP_BUFFER_MAX", 10_000),
  /**
   * Taps kept in memory while the journal cannot write (a full disk): about 400 bytes each, so the default
   * holds ~40 MB, 50 s at the design's 2 000 taps/s on one instance, minutes at an event's usual rate. Past
   * it a served tap is lost, counted in tapline_taps_lost_total and logged at ERROR.
   */
  memoryBufferMax: positive("TAP_MEMORY_BUFFER_MAX", 100_000),
  /**
   * Taps per append to the stream. 100 keeps each command (~45 KB) below V8's large-object size, so a
   * batch's strings die young instead of filling the old generation under load.
   */
  appendBatch: positive("TAP_APPEND_BATCH", 100),
  writerBatch: positive("TAP_WRITER_BATCH", 5_000),
  /** Batches one writer process has in flight at once. */
  writerConcurrency: positive("TAP_WRITER_CONCURRENCY", 2),
  duplicateInterval: Config.duration("TAP_DUPLICATE_INTERVAL").pipe(Config.withDefault(Duration.seconds(10))),
  /**
   * Entries the tap stream keeps for a sink (a consumer group other than the writers) that has not
   * acknowledged them: about 500 bytes each in Redis, so the default holds ~250 MB, four minutes at the
   * design's 2 000 taps/s. Past it the sink's oldest entries are trimmed and it is marked behind; the writers'
   * unstored entries are never trimmed, whatever the cap.
   */
  streamMaxEntries: positive("TAP_STREAM_MAX_ENTRIES", 500_000),
  /** A writer that died leaves its entries pending; after this long another writer takes them over. */
  claimIdle: Config.duration("TAP_CLAIM_IDLE").pipe(Config.withDefault(Duration.seconds(30))),
  /**
   * The longest a tap waits on a Redis lookup. Past it the tap is answered as if Redis were down (from what
   * this process knows, else the organisation's website or the default), so a Redis that stalls (restarting,
   * loading, paused) delays no attendee beyond it.
   */
  lookupTimeout: Config.duration("TAP_LOOKUP_TIMEOUT").pipe(Config.withDefault(Duration.millis(500))),
  spoolDir: Config.option(Config.string("TAP_SPOOL_DIR")),
  clientIpHeader: Config.option(Config.string("TAP_CLIENT_IP_HEADER")),
  latitudeHeader: Config.option(Config.string("TAP_LATITUDE_HEADER")),
  longitudeHeader: Config.option(Config.string("TAP_LONGITUDE_HEADER")),
  ipStorage: Config.literal(
    "full",
    "truncated",
    "none"
  )("TAP_IP_STORAGE").pipe(Config.withDefault("truncated" as const)),
  rateLimitPerMinute: positive("TAP_RATE_LIMIT_PER_MINUTE", 600),
  unknownBandsPerMinute: positive("TAP_UNKNOWN_BAND_LIMIT_PER_MINUTE", 60),
  traceRatio: Config.number().pipe(
    Config.validate({ message: "expected a number from 0 to 1", validation: (n) => n >= 0 && n <= 1 }),
    Config.nested("TAP_TRACE_RATIO"),
    Config.withDefault(0.01)
  )
})

const jobs = Config.all({
  /** Whether this process works background jobs (rollups, lifecycle, retention, partitions). */
  enabled: Config.boolean("JOBS_ENABLED").pipe(Config.withDefault(true)),
  /** Raw taps older than this many months are dropped (whole monthly partitions); rollups stay. */
  tapRetentionMonths: positive("TAP_RETENTION_MONTHS", 13),
  /**
   * Jobs of one organisation running at once on a queue shared by every organisation (exports), across
   * all instances: the other slots stay free for the other organisations.
   */
  perOrganizationConcurrency: positive("JOBS_PER_ORGANIZATION_CONCURRENCY", 1),
  /** Campaigns, events and bands in the trash longer than this are purged (deleted for good) by a job. */
  trashRetention: Config.duration("TRASH_RETENTION").pipe(Config.withDefault(Duration.days(30)))
})

export const TRACE_SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio"
] as const
export type TraceSampler = (typeof TRACE_SAMPLERS)[number]

/** The OpenTelemetry list format: `k1=v1,k2=v2`, values percent-encoded. */
export const parseKeyValues = (text: string): Record<string, string> => {
  const pairs: Record<string, string> = {}
  for (const item of text.split(",")) {
    const at = item.indexOf("=")
    if (at <= 0) continue
    pairs[decodeURIComponent(item.slice(0, at).trim())] = decodeURIComponent(item.slice(at + 1).trim())
  }
  return pairs
}

const keyValues = (name: string) =>
  Config.string().pipe(
    Config.mapOrFail((text) => {
      try {
        return Either.right(parseKeyValues(text))
      } catch {
        return Either.left(
          ConfigError.InvalidData([], "expected key=value pairs with percent-encoded values")
        )
      }
    }),
    Config.nested(name),
    Config.withDefault({})
  )

const telemetry = Config.all({
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("tapline-api")),
  otlpEndpoint: Config.option(Config.url("OTEL_EXPORTER_OTLP_ENDPOINT")),
  /**
   * `http/json` (default) or `http/protobuf`; gRPC is not offered. JSON, against the OpenTelemetry default:
   * the exporter encodes protobuf in JavaScript, which cost the hot path 2 % of its CPU at 1 % sampling against
   * 0.9 % for JSON (`pnpm bench:tracing`).
   */
  otlpProtocol: Config.literal(
    "http/json",
    "http/protobuf"
  )("OTEL_EXPORTER_OTLP_PROTOCOL").pipe(Config.withDefault("http/json" as const)),
  /** `key=value` pairs, comma-separated and percent-encoded, sent with every export (a vendor's API key). */
  otlpHeaders: Config.redacted("OTEL_EXPORTER_OTLP_HEADERS").pipe(Config.withDefault(Redacted.make(""))),
  /** `key=value` pairs describing this process (`deployment.environment=prod,service.namespace=tapline`). */
  resourceAttributes: keyValues("OTEL_RESOURCE_ATTRIBUTES"),
  /** Exports nothing when true, whatever the endpoint says. */
  sdkDisabled: Config.boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
  /** The sampler of every trace but the redirect's (TAP_TRACE_RATIO): the admin API, jobs, the writer. */
  sampler: Config.literal(...TRACE_SAMPLERS)("OTEL_TRACES_SAMPLER").pipe(
    Config.withDefault("parentbased_always_on" as const)
  ),
  samplerRatio: Config.number().pipe(
    Config.validate({ message: "expected a number from 0 to 1", validation: (n) => n >= 0 && n <= 1 }),
    Config.nested("OTEL_TRACES_SAMPLER_ARG"),
    Config.withDefault(1)
  ),
  logLevel: Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info)),
  logFormat: Config.literal("json", "pretty")("LOG_FORMAT").pipe(Config.withDefault("json" as const)),
  /** Prometheus metrics at /metrics; off, nothing is counted (the benchmark's comparison). */
  metricsEnabled: Config.boolean("METRICS_ENABLED").pipe(Config.withDefault(true)),
  /** /metrics asks for `Authorization: Bearer <token>`; required unless embedded (see appConfig). */
  metricsToken: Config.option(Config.redacted("METRICS_TOKEN")).pipe(
    // An empty token would let a scraper in with `Bearer ` and nothing after it.
    Config.map(Option.filter((token) => Redacted.value(token).length > 0))
  )
})

const auth = Config.all({
  /**
   * Keys that encrypt stored secrets (OAuth client secrets, TOTP seeds): `id:base64key` pairs separated by
   * commas, 32-byte keys, the first one encrypts. Unset: a key is generated once into TAPLINE_DATA_DIR.
   */
  encryptionKeys: Config.option(Config.redacted("TAPLINE_ENCRYPTION_KEYS")),
  /** A session's access token lives this long; the refresh token renews it. */
  accessTtl: Config.duration("SESSION_ACCESS_TTL").pipe(Config.withDefault(Duration.minutes(15))),
  /** A session unused (no request, no refresh) this long ends. */
  idleTimeout: Config.duration("SESSION_IDLE_TIMEOUT").pipe(Config.withDefault(Duration.hours(12))),
  /** Every session ends this long after sign-in, however active. */
  absoluteTimeout: Config.duration("SESSION_ABSOLUTE_TIMEOUT").pipe(Config.withDefault(Duration.days(7))),
  /** Cookies carry `Secure`; browsers accept it on http://localhost too. Turn off only for plain-http hosts. */
  cookieSecure: Config.boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(true)),
  /** Lifetime of passkey challenges, OAuth state and second-factor tickets. */
  challengeTtl: Config.duration("AUTH_CHALLENGE_TTL").pipe(Config.withDefault(Duration.minutes(5))),
  /** How long a first-run setup link works (it also works only once, and only while no user exists). */
  setupLinkTtl: Config.duration("SETUP_LINK_TTL").pipe(Config.withDefault(Duration.hours(24))),
  /** Sign-in and second-factor attempts per client IP per minute, per endpoint. */
  rateLimitPerMinute: positive("AUTH_RATE_LIMIT_PER_MINUTE", 20),
  /** Failed second-factor attempts before the account's second factor is locked. */
  lockoutThreshold: positive("AUTH_LOCKOUT_THRESHOLD", 5),
  lockoutDuration: Config.duration("AUTH_LOCKOUT_DURATION").pipe(Config.withDefault(Duration.minutes(15))),
  /** Whether a verified email (a provider's, or a mailed link or code) may create a user nobody invited. */
  openSignup: Config.boolean("AUTH_OPEN_SIGNUP").pipe(Config.withDefault(false)),
  /** How long a mailed sign-in link works, and its one-time code (DESIGN.md §6). */
  emailLinkTtl: Config.duration("AUTH_EMAIL_LINK_TTL").pipe(Config.withDefault(Duration.minutes(15))),
  emailCodeTtl: Config.duration("AUTH_EMAIL_CODE_TTL").pipe(Config.withDefault(Duration.minutes(10))),
  /** Sign-in mails one address can be sent per hour, whoever asks (the per-IP limit applies as well). */
  emailSignInsPerHour: positive("AUTH_EMAIL_SIGN_INS_PER_HOUR", 5),
  relyingPartyName: Config.string("WEBAUTHN_RP_NAME").pipe(Config.withDefault("Tapline"))
})

/** Per-organisation quotas a minute on work that shares one resource with every organisation (Quotas.ts). */
const quotas = Config.all({
  testPings: positive("QUOTA_TEST_PINGS_PER_MINUTE", 10),
  exports: positive("QUOTA_EXPORTS_PER_MINUTE", 10),
  uploadTickets: positive("QUOTA_UPLOAD_TICKETS_PER_MINUTE", 30),
  liveStreams: positive("QUOTA_LIVE_STREAMS_PER_MINUTE", 30)
})

/** The live view's server-sent event streams (Live/Live.ts). */
const live = Config.all({
  /** Open streams at once per API key or user, counted across instances; the next one gets 429. */
  streamsPerPrincipal: positive("LIVE_STREAMS_PER_PRINCIPAL", 5)
})

const outbound = Config.all({
  /**
   * Server-side requests to URLs tenants and admins give (webhook and chat endpoints, OIDC discovery and its
   * endpoints) never connect to loopback, private, link-local or metadata addresses, in any IPv6 spelling,
   * except hosts, addresses or CIDR networks listed here (comma-separated). An IPv4 entry covers its IPv6
   * spellings (::ffff:a.b.c.d, 64:ff9b::a.b.c.d, 2002:…).
   */
  allow: Config.string("OUTBOUND_ALLOW").pipe(
    Config.withDefault(""),
    Config.map((list) =>
      list
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0)
    )
  )
})

const webhooks = Config.all({
  /** One delivery's deadline. */
  timeout: Config.duration("WEBHOOK_TIMEOUT").pipe(Config.withDefault(Duration.seconds(10))),
  /**
   * The waits before each retry of a failed delivery (Standard Webhooks' schedule: about a day in all); when
   * they are used up the delivery has failed, and an endpoint that has not delivered anything since is disabled.
   */
  retryDelays: Config.array(Config.duration(), "WEBHOOK_RETRY_DELAYS").pipe(
    Config.withDefault(
      ["5 seconds", "5 minutes", "30 minutes", "2 hours", "5 hours", "10 hours", "10 hours"].map((text) =>
        Duration.decode(text as Duration.DurationInput)
      )
    )
  ),
  /** How often an idle dispatcher looks for due deliveries. */
  pollInterval: Config.duration("WEBHOOK_POLL_INTERVAL").pipe(Config.withDefault(Duration.millis(500))),
  /** Requests in flight per process. */
  concurrency: positive("WEBHOOK_CONCURRENCY", 16),
  /**
   * Of those, at most this many to one endpoint and this many for one organisation: an endpoint that stops
   * answering holds its own slots until the timeout, never the dispatcher's.
   */
  endpointConcurrency: positive("WEBHOOK_ENDPOINT_CONCURRENCY", 4),
  organizationConcurrency: positive("WEBHOOK_ORGANIZATION_CONCURRENCY", 8),
  /** Days the messages and the delivery log are kept. */
  keepDays: positive("WEBHOOK_LOG_KEEP_DAYS", 30)
})

const alerts = Config.all({
  /** Whether this process evaluates the alert rules (those about what it runs: the writer, the spool). */
  enabled: Config.boolean("ALERTS_ENABLED").pipe(Config.withDefault(true)),
  // The channels (ALERT_CHANNELS, ALERT_WEBHOOK_SECRET) are read by Alerts/AlertChannels.ts, beside them.
  /** How often the rules are evaluated. */
  interval: Config.duration("ALERT_INTERVAL").pipe(Config.withDefault(Duration.seconds(15))),
  /** How long a condition must hold before it fires (a blip does not page anyone). */
  holdFor: Config.duration("ALERT_FOR").pipe(Config.withDefault(Duration.minutes(1))),
  /** A firing alert is said again this often until it recovers. */
  repeat: Config.duration("ALERT_REPEAT").pipe(Config.withDefault(Duration.hours(4))),
  /** Rules about events (dead letters, failed jobs, disabled endpoints) fire while this window holds one. */
  window: Config.duration("ALERT_WINDOW").pipe(Config.withDefault(Duration.minutes(15))),
  /** Pipeline lag: the oldest tap not yet in PostgreSQL is older than this. */
  lagThreshold: Config.duration("ALERT_LAG_THRESHOLD").pipe(Config.withDefault(Duration.seconds(60))),
  /** Stream backlog: more taps than this wait to be read by a writer. */
  backlogThreshold: positive("ALERT_BACKLOG_THRESHOLD", 100_000),
  /** Spool: more journal segments than this wait on disk for Redis. */
  spoolSegmentsThreshold: positive("ALERT_SPOOL_SEGMENTS_THRESHOLD", 5)
})

export const appConfig = Config.all({
  server,
  database,
  redis,
  embedded,
  taps,
  jobs,
  auth,
  quotas,
  live,
  /** The email port's own settings; each provider reads its own variables (Email/providers.ts). */
  email: EmailConfig.config,
  /** The push port's own settings; each provider reads its own variables (Push/providers.ts). */
  push: PushConfig.config,
  /** The SMS port's own settings; each provider reads its own variables (Sms/providers.ts). */
  sms: SmsConfig.config,
  /** The storage port's own setting; each provider reads its own variables (Storage/providers.ts). */
  storage: StorageConfig.config,
  webhooks,
  telemetry,
  outbound,
  alerts,
  /** BROKER_CA_FILE, read (Brokers/BrokerConfig.ts): trusted for the brokers' TLS. */
  brokerCa,
  /** The AI port's own settings; each provider reads its own key and model (Ai/providers.ts). */
  ai: AiConfig.config
})

export type AppConfigShape = Config.Config.Success<typeof appConfig>

/** The one typed configuration tree, read once at start-up. */
export class AppConfig extends Context.Tag("@tapline/server/AppConfig")<AppConfig, AppConfigShape>() {
  static readonly layer = Layer.effect(AppConfig, appConfig)
}

/** True when no DATABASE_URL is given: Tapline runs on its embedded PostgreSQL. */
/** Where browsers reach this server: PUBLIC_URL, else http://localhost:PORT. Links and WebAuthn use it. */
export const publicOrigin = (config: AppConfigShape): URL =>
  Option.getOrElse(config.server.publicUrl, () => new URL(`http://localhost:${config.server.port}`))

export const isEmbedded = (config: AppConfigShape): boolean => Option.isNone(config.database.url)

/**
 * A server that serves /metrics off the embedded database needs METRICS_TOKEN: the page tells anyone who asks
 * the traffic, queue depths and failures of every organisation. A laptop or demo on the embedded database may
 * leave it open. Checked where /metrics is served, not here: the CLI and migrations read the same variables.
 */
export const requireMetricsToken = (config: AppConfigShape): Effect.Effect<void, ConfigError.ConfigError> =>
  config.telemetry.metricsEnabled && !isEmbedded(config) && Option.isNone(config.telemetry.metricsToken)
    ? Effect.fail(
        ConfigError.InvalidData(
          ["METRICS_TOKEN"],
          "required with DATABASE_URL while metrics are on; set it (scrapers send it as a bearer token) or " +
            "set METRICS_ENABLED=false"
        )
      )
    : Effect.void
