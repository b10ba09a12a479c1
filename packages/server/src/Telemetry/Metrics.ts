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
  const counter = <L extends string = never>(name: string, help: string, labelNames: ReadonlyArray<L> = []) =>
    new Prom.Counter<L>({ name, help, labelNames, registers })
  const gauge = <L extends string = never>(name: string, help: string, labelNames: ReadonlyArray<L> = []) =>
    new Prom.Gauge<L>({ name, help, labelNames, registers })
  const histogram = <L extends string = never>(
    name: string,
    help: string,
    buckets: Array<number>,
    labelNames: ReadonlyArray<L> = []
  ) => new Prom.Histogram<L>({ name, help, buckets, labelNames, registers })
  return {
    registry,
    enabled,
    http: histogram(
      "tapline_http_request_duration_seconds",
      "Admin API and page requests by route class and status class",
      seconds,
      ["route", "status"]
    ),
    redirects: counter(
      "tapline_redirects_total",
      "Taps served by the redirect, by redirect kind (WINDOW, FALLBACK, ORG, DEFAULT)",
      ["kind"]
    ),
    botTaps: counter(
      "tapline_bot_taps_total",
      "Taps from user agents recognised as bots (and HEAD requests)"
    ),
    redirectRejections: counter(
      "tapline_redirect_rejections_total",
      "Redirect requests answered without a redirect, by status",
      ["status"]
    ),
    writerBatchSize: histogram(
      "tapline_writer_batch_size",
      "Taps per batch the writer stored",
      [1, 10, 50, 100, 250, 500, 1000, 2500, 5000]
    ),
    writerBatchSeconds: histogram(
      "tapline_writer_batch_duration_seconds",
      "Time to store one batch in PostgreSQL",
      seconds
    ),
    storeLag: histogram(
      "tapline_tap_store_lag_seconds",
      "From a tap's redirect to its batch committed in PostgreSQL (the newest tap of each batch)",
      [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
    ),
    readModelRebuilds: counter(
      "tapline_read_model_rebuilds_total",
      "Organisations whose read model was rebuilt from PostgreSQL (stale, or a full rebuild)"
    ),
    writerFailures: counter(
      "tapline_writer_batch_failures_total",
      "Batches the writer could not store (retried)"
    ),
    redirectLookups: counter(
      "tapline_redirect_lookups_total",
      "Redirect lookups by where the answer came from: this process's cache (hit) or Redis (miss)",
      ["result"]
    ),
    duplicateTaps: counter(
      "tapline_duplicate_taps_total",
      "Taps stored as duplicates (the same band within TAP_DUPLICATE_INTERVAL), not counted in analytics"
    ),
    alertsFiring: gauge(
      "tapline_alerts_firing",
      "1 while an in-process alert rule fires on this instance, by rule",
      ["rule"]
    ),
    deadLetteredTaps: counter(
      "tapline_dead_lettered_taps_total",
      "Taps PostgreSQL refused, kept in tap_dead_letters"
    ),
    jobs: counter("tapline_jobs_total", "Background jobs worked, by queue and outcome", ["queue", "outcome"]),
    emails: counter(
      "tapline_email_sends_total",
      "Email send attempts by provider and outcome (sent, transient, permanent)",
      ["provider", "outcome"]
    ),
    pushes: counter(
      "tapline_push_total",
      "Push send attempts by provider and outcome (sent, transient, permanent, gone; unauthorized: the account's credential refused)",
      ["provider", "outcome"]
    ),
    sms: counter(
      "tapline_sms_total",
      "SMS send attempts by provider and outcome (sent, transient, permanent)",
      ["provider", "outcome"]
    ),
    brokerMessages: counter(
      "tapline_broker_messages_total",
      "Messages to brokers by broker kind and outcome (published, duplicate: dropped by the broker, failed)",
      ["kind", "outcome"]
    ),
    webhookDeliveries: counter(
      "tapline_webhook_deliveries_total",
      "Webhook and chat deliveries by endpoint kind and outcome (delivered, failed, gave_up)",
      ["kind", "outcome"]
    ),
    journeyMessages: counter(
      "tapline_journey_messages_total",
      "Journey messages by channel and outcome (sent, skipped, retried, dead)",
      ["channel", "outcome"]
    ),
    journeySenderFailures: counter(
      "tapline_journey_sender_failures_total",
      "Journey sender rounds that failed (PostgreSQL away, say); the sender backs off and resumes by itself"
    ),
    registrations: counter(
      "tapline_registrations_total",
      "Registration messages from brokers by outcome (registered, unregistered, duplicate, dead_letter)",
      ["outcome"]
    ),
    smsCallbacks: counter(
      "tapline_sms_callbacks_total",
      "SMS provider callbacks by provider, kind (status, inbound, subscription) and outcome (applied, duplicate, refused_signature, ...)",
      ["provider", "kind", "outcome"]
    ),
    aiGenerations: counter(
      "tapline_ai_generations_total",
      "Language-model attempts by provider and outcome (success, timeout, rate_limited, unavailable, unauthorized, malformed, refused, invalid_request, tool_failed, tool_loop)",
      ["provider", "outcome"]
    ),
    aiTokens: counter(
      "tapline_ai_tokens_total",
      "Language-model tokens of completed generations by provider and kind (input, output)",
      ["provider", "kind"]
    )
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

/**
 * How long a scrape waits for one gauge's read (they run side by side). Redis's client queues a command while
 * it reconnects (seconds) and waits for ever on a hung server: a scrape waiting with it outlasts Prometheus's
 * timeout, and an instance in a Redis outage would show as down instead of saying what it lost.
 */
const READ_DEADLINE_MS = 250

/** `read()`'s value, or undefined when it fails or takes longer than the deadline. */
const readWithin = async (read: () => Promise<number>): Promise<number | undefined> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), READ_DEADLINE_MS)
  })
  try {
    return await Promise.race([read().catch(() => undefined), late])
  } finally {
    clearTimeout(timer)
  }
}

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
        // A failed or late read (Redis down or hung) keeps the last value; the outage shows in the health checks.
        const value = await readWithin(options.read)
        if (value !== undefined) this.set(value)
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

/** Counts kept elsewhere under one label (a fixed set of values, never an id), read at scrape time. */
export const labelledCounterFrom = <V extends string>(
  metrics: MetricsShape,
  options: {
    readonly name: string
    readonly help: string
    readonly label: string
    readonly read: () => Readonly<Record<V, number>>
  }
): Effect.Effect<void, never, Scope.Scope> =>
  registered(metrics, options.name, () => {
    new Prom.Counter({
      name: options.name,
      help: options.help,
      labelNames: [options.label],
      registers: [metrics.registry],
      collect() {
        this.reset()
        // Every value from the start, zeros too: a rate over a series that appears late misses its first step.
        for (const [value, count] of Object.entries<number>(options.read())) {
          this.inc({ [options.label]: value }, count)
        }
      }
    })
  })

export const layer = Layer.effect(
  Metrics,
  Effect.map(AppConfig, (config) => make(config.telemetry.metricsEnabled))
)

/** The exposition text. */
export const scrape = (metrics: MetricsShape) => Effect.promise(() => metrics.registry.metrics())
