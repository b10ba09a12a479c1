import { Context, Effect, Layer, type Scope } from "effect"
import * as Prom from "prom-client"
import { AppConfig } from "../Config/AppConfig.js"

/*
 * Prometheus metrics (prom-client), one registry per runtime. Labels are bounded by construction: route
 * classes, redirect kinds, queue names, provider names, outcomes; never a band, tap or organisation id.
 */

const seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const make = (enabled: boolean) => {
  const registry = new Prom.Registry()
  const registers = enabled ? [registry] : []
  if (enabled) Prom.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  return {
    registry,
    enabled,
    http: new Prom.Histogram({
      name: "tapline_http_request_duration_seconds",
      help: "Admin API and page requests by route class and status class",
      labelNames: ["route", "status"] as const,
      buckets: seconds,
      registers
    }),
    redirects: new Prom.Counter({
      name: "tapline_redirects_total",
      help: "Taps served by the redirect, by redirect kind (WINDOW, FALLBACK, ORG, DEFAULT)",
      labelNames: ["kind"] as const,
      registers
    }),
    botTaps: new Prom.Counter({
      name: "tapline_bot_taps_total",
      help: "Taps from user agents recognised as bots (and HEAD requests)",
      registers
    }),
    redirectRejections: new Prom.Counter({
      name: "tapline_redirect_rejections_total",
      help: "Redirect requests answered without a redirect, by status",
      labelNames: ["status"] as const,
      registers
    }),
    writerBatchSize: new Prom.Histogram({
      name: "tapline_writer_batch_size",
      help: "Taps per batch the writer stored",
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers
    }),
    writerBatchSeconds: new Prom.Histogram({
      name: "tapline_writer_batch_duration_seconds",
      help: "Time to store one batch in PostgreSQL",
      buckets: seconds,
      registers
    }),
    storeLag: new Prom.Histogram({
      name: "tapline_tap_store_lag_seconds",
      help: "From a tap's redirect to its batch committed in PostgreSQL (the newest tap of each batch)",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers
    }),
    readModelRebuilds: new Prom.Counter({
      name: "tapline_read_model_rebuilds_total",
      help: "Organisations whose read model was rebuilt from PostgreSQL (stale, or a full rebuild)",
      registers
    }),
    writerFailures: new Prom.Counter({
      name: "tapline_writer_batch_failures_total",
      help: "Batches the writer could not store (retried)",
      registers
    }),
    redirectLookups: new Prom.Counter({
      name: "tapline_redirect_lookups_total",
      help: "Redirect lookups by where the answer came from: this process's cache (hit) or Redis (miss)",
      labelNames: ["result"] as const,
      registers
    }),
    duplicateTaps: new Prom.Counter({
      name: "tapline_duplicate_taps_total",
      help: "Taps stored as duplicates (the same band within TAP_DUPLICATE_INTERVAL), not counted in analytics",
      registers
    }),
    alertsFiring: new Prom.Gauge({
      name: "tapline_alerts_firing",
      help: "1 while an in-process alert rule fires on this instance, by rule",
      labelNames: ["rule"] as const,
      registers
    }),
    deadLetteredTaps: new Prom.Counter({
      name: "tapline_dead_lettered_taps_total",
      help: "Taps PostgreSQL refused, kept in tap_dead_letters",
      registers
    }),
    jobs: new Prom.Counter({
      name: "tapline_jobs_total",
      help: "Background jobs worked, by queue and outcome",
      labelNames: ["queue", "outcome"] as const,
      registers
    }),
    emails: new Prom.Counter({
      name: "tapline_email_sends_total",
      help: "Email send attempts by provider and outcome (sent, transient, permanent)",
      labelNames: ["provider", "outcome"] as const,
      registers
    }),
    webhookDeliveries: new Prom.Counter({
      name: "tapline_webhook_deliveries_total",
      help: "Webhook and chat deliveries by endpoint kind and outcome (delivered, failed, gave_up)",
      labelNames: ["kind", "outcome"] as const,
      registers
    })
  }
}

export type MetricsShape = ReturnType<typeof make>

export class Metrics extends Context.Tag("@tapline/server/Metrics")<Metrics, MetricsShape>() {}

/**
 * Registers a metric for as long as the scope lasts. A process has one of each scrape-time reader; a second
 * (a test's extra recorder) is not exposed rather than refused.
 */
const registered = (metrics: MetricsShape, name: string, create: () => void) =>
  metrics.enabled && metrics.registry.getSingleMetric(name) === undefined
    ? Effect.acquireRelease(Effect.sync(create), () =>
        Effect.sync(() => metrics.registry.removeSingleMetric(name))
      )
    : Effect.void

/** A gauge read at scrape time (stream length, pending deliveries). */
export const gauge = (
  metrics: MetricsShape,
  options: { readonly name: string; readonly help: string; readonly read: () => Promise<number> }
): Effect.Effect<void, never, Scope.Scope> =>
  registered(metrics, options.name, () => {
    new Prom.Gauge({
      name: options.name,
      help: options.help,
      registers: [metrics.registry],
      async collect() {
        // A failed read (Redis down) keeps the last value; the outage shows in the health checks.
        await options.read().then(
          (value) => this.set(value),
          () => {}
        )
      }
    })
  })

/** A count kept elsewhere (the recorder's since start), exposed as a counter read at scrape time. */
export const counterFrom = (
  metrics: MetricsShape,
  options: { readonly name: string; readonly help: string; readonly read: () => number }
): Effect.Effect<void, never, Scope.Scope> =>
  registered(metrics, options.name, () => {
    new Prom.Counter({
      name: options.name,
      help: options.help,
      registers: [metrics.registry],
      collect() {
        this.reset()
        this.inc(options.read())
      }
    })
  })

export const layer = Layer.effect(
  Metrics,
  Effect.map(AppConfig, (config) => make(config.telemetry.metricsEnabled))
)

/** The exposition text. */
export const scrape = (metrics: MetricsShape) => Effect.promise(() => metrics.registry.metrics())
