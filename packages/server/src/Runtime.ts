import * as RateLimiter from "@effect/experimental/RateLimiter"
import type { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer, Option, Redacted } from "effect"
import * as TrashPurgeWorkers from "./Admin/TrashPurgeWorkers.js"
import * as Ai from "./Ai/Ai.js"
import * as Alerts from "./Alerts/Alerts.js"
import * as AnalyticsWorkers from "./Analytics/AnalyticsWorkers.js"
import { Audit } from "./Audit/Audit.js"
import * as CredentialPruneWorkers from "./Auth/CredentialPruneWorkers.js"
import * as MemoryCache from "./Cache/MemoryCache.js"
import * as RedisCache from "./Cache/RedisCache.js"
import { AppConfig, servesTaps, writesTaps } from "./Config/AppConfig.js"
import * as PageToken from "./Crypto/PageToken.js"
import * as SecretBox from "./Crypto/SecretBox.js"
import * as Database from "./Database/Database.js"
import * as DemoSeed from "./Demo/DemoSeed.js"
import * as EmailProviders from "./Email/providers.js"
import * as LifecycleWorkers from "./Events/LifecycleWorkers.js"
import * as ExportWorkers from "./Exports/ExportWorkers.js"
import { Draining } from "./Health/Draining.js"
import * as HttpApp from "./Http/HttpApp.js"
import * as Listener from "./Http/Listener.js"
import * as NodeServer from "./Http/NodeServer.js"
import type { Jobs } from "./Jobs/Jobs.js"
import * as MemoryJobs from "./Jobs/MemoryJobs.js"
import * as PgBossJobs from "./Jobs/PgBossJobs.js"
import * as TapPartitions from "./Jobs/TapPartitions.js"
import * as Workers from "./Jobs/Workers.js"
import * as JourneySender from "./Journeys/JourneySender.js"
import * as JourneySink from "./Journeys/JourneySink.js"
import { JourneyWake } from "./Journeys/JourneyWake.js"
import * as MemoryStreamLeases from "./Live/MemoryStreamLeases.js"
import * as RedisStreamLeases from "./Live/RedisStreamLeases.js"
import { Mailer } from "./Mail/Mailer.js"
import * as MailWorkers from "./Mail/MailWorkers.js"
import * as OutboundFetch from "./Outbound/OutboundFetch.js"
import * as PushProviders from "./Push/providers.js"
import * as MemoryReadModelStore from "./ReadModel/MemoryReadModelStore.js"
import { Projector, ReadModelFresh } from "./ReadModel/Projector.js"
import * as RedisReadModelStore from "./ReadModel/RedisReadModelStore.js"
import { Warming } from "./ReadModel/Warming.js"
import * as HotPath from "./Redirect/HotPath.js"
import * as RateLimits from "./Redirect/RateLimits.js"
import * as RedirectStore from "./Redirect/RedirectStore.js"
import * as Redis from "./Redis/Redis.js"
import * as RedisRateLimiterStore from "./Redis/RedisRateLimiterStore.js"
import * as RegistrantRetention from "./Registrants/RegistrantRetention.js"
import * as RegistrationConsumers from "./Registrations/RegistrationConsumers.js"
import * as RegistrationWorkers from "./Registrations/RegistrationWorkers.js"
import * as ReportKeys from "./Reports/ReportKeys.js"
import * as Banner from "./Setup/Banner.js"
import * as SmsProviders from "./Sms/providers.js"
import * as StorageProviders from "./Storage/providers.js"
import * as PlatformSinks from "./Streams/PlatformSinks.js"
import * as LiveCounters from "./Taps/LiveCounters.js"
import * as MemoryTapPipeline from "./Taps/MemoryTapPipeline.js"
import * as RedisTapQueue from "./Taps/RedisTapQueue.js"
import * as RedisTapRecorder from "./Taps/RedisTapRecorder.js"
import { TapSinkStatuses } from "./Taps/TapSinkStatus.js"
import { TapStore } from "./Taps/TapStore.js"
import * as TapWriter from "./Taps/TapWriter.js"
import { TapWriterStatus } from "./Taps/TapWriterStatus.js"
import * as Logging from "./Telemetry/Logging.js"
import * as Metrics from "./Telemetry/Metrics.js"
import * as Tracing from "./Telemetry/Tracing.js"
import * as UploadWorkers from "./Uploads/UploadWorkers.js"
import * as WebhookDispatcher from "./Webhooks/Dispatcher.js"
import * as WebhookWorkers from "./Webhooks/WebhookWorkers.js"

/*
 * The whole layer graph of a Tapline process, in one place: apps/api, the CLI and the test harnesses build
 * from here. Read top-down: the choices configuration makes (each Redis-or-memory, pg-boss-or-memory and
 * provider choice), the parts built on them, and the roles that put the parts together.
 */

/**
 * `all` serves and writes; `api` serves the admin API and the redirect; `worker` writes taps, works jobs and
 * serves health; `jobs` works jobs (the job queue, webhooks, registration sources, the journeys' sender) and
 * serves health, without the tap writer, so background work can have cores of its own.
 */
export type Role = "all" | "api" | "worker" | "jobs"

// ---------------------------------------------------------------------------------------------------------
// Choices made from configuration

/** DATABASE_URL's PostgreSQL, or the embedded one without it; migrated at start (DATABASE_MIGRATE_ON_START). */
export const DatabaseLive = Database.layerMigrated.pipe(Layer.provideMerge(Database.layer))

/**
 * Everything that lives in Redis when Redis is configured (one shared connection), or in this process's
 * memory when it is not (embedded mode, a single instance): Cache, ReadModelStore, TapRecorder, TapQueue(s),
 * LiveCounters, the RateLimiter's store, the live streams' leases; and the status of this process's tap writer,
 * which readiness reports.
 */
export const BackendsLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Redis.isConfigured(config.redis)
      ? Layer.mergeAll(
          RedisCache.layer,
          RedisReadModelStore.layer,
          RedisTapRecorder.layer,
          RedisTapQueue.layer,
          LiveCounters.redisLayer,
          RedisRateLimiterStore.layer,
          RedisStreamLeases.layer
        ).pipe(Layer.provide(Redis.layer))
      : Layer.mergeAll(
          MemoryCache.layer,
          MemoryReadModelStore.layer,
          MemoryTapPipeline.layer,
          RateLimiter.layerStoreMemory,
          MemoryStreamLeases.layer
        )
  )
).pipe(Layer.merge(TapWriterStatus.Default), Layer.merge(TapSinkStatuses.Default))

/** pg-boss on the configured PostgreSQL; the memory queue when the database is the embedded one. */
export const JobsLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ database }) =>
    Option.match(database.url, {
      onNone: () => MemoryJobs.layer,
      onSome: (url) =>
        PgBossJobs.layer({
          connectionString: Redacted.value(url),
          ssl: Database.sslOptions(database),
          poolMax: 4
        })
    })
  )
)

/** The providers EMAIL_PROVIDERS names, in failover order, as one Email (the registry: Email/providers.ts). */
export const EmailLive = EmailProviders.layerConfig

/** The providers PUSH_PROVIDERS names, in failover order, as one Push (the registry: Push/providers.ts). */
export const PushLive = PushProviders.layerConfig
/** The providers SMS_PROVIDERS names, in failover order, as one Sms (the registry: Sms/providers.ts). */
export const SmsLive = SmsProviders.layerConfig

/** The provider STORAGE_PROVIDER names, local or S3 (the registry: Storage/providers.ts). */
export const StorageLive = StorageProviders.layerConfig

/** The language-model providers AI_PROVIDERS names that have a key, in fallback order (Ai/providers.ts). */
export const AiLive = Ai.layerConfig

// ---------------------------------------------------------------------------------------------------------
// Parts

/** What a test replaces; everything else comes from configuration. */
export interface Overrides {
  /** A migrated database instead of DATABASE_URL's or the embedded one. */
  readonly database?: Layer.Layer<SqlClient, unknown, AppConfig>
  /** Another job queue (the tests use the memory one on their own database). */
  readonly jobs?: Layer.Layer<Jobs, unknown, AppConfig | SqlClient>
  /** Seed the demo tenant as configuration says (default), or never. */
  readonly demo?: boolean
}

/** The database, the Redis-or-memory backends, the job queue, object storage, email and the encryption keys. */
export const platform = (overrides: Overrides = {}) => {
  const database = overrides.database ?? DatabaseLive
  return Layer.mergeAll(
    database,
    BackendsLive,
    (overrides.jobs ?? JobsLive).pipe(Layer.provide(database)),
    StorageLive,
    EmailLive,
    PushLive,
    SmsLive,
    AiLive,
    SecretBox.layer,
    PageToken.layer,
    ReportKeys.layer,
    Draining.Default,
    JourneyWake.Default,
    Warming.Default
  ).pipe(Layer.provideMerge(Metrics.layer))
}

/** The read model, brought up to date at start and kept so by the change feed. */
export const ReadModelLive = ReadModelFresh.pipe(Layer.provideMerge(Projector.Default))

/** The redirect's handler: Redis (or memory) only, no admin middleware. */
export const HotPathLive = HotPath.layer.pipe(Layer.provide([RedirectStore.layer, RateLimits.layer]))

/** The tap writer, and the platform's broker destinations beside it (each a sink of the same stream). */
export const WriterLive = Layer.mergeAll(TapWriter.layer, PlatformSinks.layer, JourneySink.layer).pipe(
  Layer.provide(TapStore.Default)
)

/** Each feature's job workers and schedules (its `*Workers.ts`), and the platform's own partition upkeep. */
const FeatureWorkersLive = Layer.mergeAll(
  TapPartitions.layer,
  LifecycleWorkers.layer,
  AnalyticsWorkers.layer,
  ExportWorkers.layer,
  UploadWorkers.layer,
  MailWorkers.layer,
  WebhookWorkers.layer,
  TrashPurgeWorkers.layer,
  CredentialPruneWorkers.layer,
  RegistrationWorkers.layer,
  RegistrantRetention.layer
)

/**
 * The job queue's workers, the webhook dispatcher and the registration sources' consumers: background work,
 * wherever JOBS_ENABLED is true.
 */
export const JobWorkersLive = Layer.mergeAll(
  Workers.started.pipe(Layer.provide(FeatureWorkersLive)),
  WebhookDispatcher.layer,
  RegistrationConsumers.layer,
  JourneySender.layer
).pipe(Layer.provide([Audit.Default, Mailer.Default]))

/** The admin API, its documents and the sign-in page, with the redirect mounted in front at /e. */
export const ApiServerLive = HttpApp.HttpAppLive.pipe(
  // OAuth sign-in (arctic) uses Node's own fetch: see OutboundFetch.
  Layer.provide(OutboundFetch.layer),
  Layer.provideMerge(NodeServer.NodeServerWithHotPathLive),
  Layer.provide(HotPathLive)
)

/** A worker's server: health probes only. */
export const WorkerServerLive = HttpApp.WorkerHttpAppLive.pipe(Layer.provideMerge(NodeServer.NodeServerLive))

// ---------------------------------------------------------------------------------------------------------
// Roles

/** A role's layers over the platform; the bound HttpServer stays visible (for the banner and for tests). */
export const forRole = (role: Role, overrides: Overrides = {}) => {
  const demo = overrides.demo === false ? DemoSeed.none : DemoSeed.layer
  const workerServing = Layer.merge(WorkerServerLive, WriterLive)
  const apiServing = Banner.layer.pipe(Layer.provideMerge(ApiServerLive))
  // One type for either (their requirements differ: the API's journeys send test emails).
  const serving: Layer.Layer<
    Layer.Layer.Success<typeof workerServing | typeof apiServing>,
    unknown,
    Layer.Layer.Context<typeof workerServing | typeof apiServing>
  > = role === "worker" ? workerServing : role === "jobs" ? WorkerServerLive : apiServing
  const roleLayers = role === "all" ? Layer.merge(serving, WriterLive) : serving
  // The rules about what this role runs: the writer's where it writes, the spool's where it records taps.
  const alerts = Alerts.layer({ writer: writesTaps(role), recorder: servesTaps(role) })
  return Layer.mergeAll(roleLayers, JobWorkersLive, alerts).pipe(
    Layer.provideMerge(ReadModelLive.pipe(Layer.provideMerge(demo))),
    Layer.provideMerge(platform(overrides))
  )
}

/** TAPLINE_ROLE's layers. */
export const fromConfig = Layer.unwrapEffect(Effect.map(AppConfig, ({ taps }) => forRole(taps.role)))

/**
 * The process: the configured role with telemetry, logging and configuration under it. A stop signal first
 * drains the server (Listener.drainOnStop, released before every other part), then stops the rest.
 */
export const main = Listener.drainOnStop.pipe(
  Layer.provideMerge(fromConfig),
  Layer.provide(Tracing.layer),
  Layer.provide(Logging.layer),
  Layer.provideMerge(AppConfig.layer)
)

/**
 * For operator commands: the database alone, migrated; and the projector over the shared (Redis) read
 * model, which embedded mode does not have (its read model lives in the server's memory).
 */
export const CommandReadModelLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (!Redis.isConfigured(config.redis)) {
      return yield* Effect.fail(
        new Error(
          "no Redis configured: the embedded server keeps its read model in memory and rebuilds it at start"
        )
      )
    }
    return Projector.Default.pipe(
      Layer.provide(RedisReadModelStore.layer.pipe(Layer.provide(Redis.layer))),
      Layer.provide(Database.layer)
    )
  })
)
