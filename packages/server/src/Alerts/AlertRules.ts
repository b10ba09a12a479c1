import * as Os from "node:os"
import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect } from "effect"
import { Cache } from "../Cache/Cache.js"
import { AppConfig } from "../Config/AppConfig.js"
import { checkReady } from "../Database/Database.js"
import { Jobs } from "../Jobs/Jobs.js"
import * as Redis from "../Redis/Redis.js"
import { SinksBehind } from "../Taps/SinkBehind.js"
import { TapQueue } from "../Taps/TapQueue.js"
import { TapRecorder } from "../Taps/TapRecorder.js"
import { TapSinkStatuses } from "../Taps/TapSinkStatus.js"
import { TapWriterStatus } from "../Taps/TapWriterStatus.js"

/** What a rule saw: whether its condition holds, and in words what the on-call engineer needs to know. */
export interface Observation {
  readonly firing: boolean
  readonly detail: string
}

export interface AlertRule {
  /** Stable: the runbook's heading, the webhook's `data.rule`. */
  readonly name: string
  readonly summary: string
  /**
   * Fails when the rule cannot tell (PostgreSQL down under a query): its state is kept, and the outage is
   * another rule's to report.
   */
  readonly observe: Effect.Effect<Observation, unknown>
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`

/** Answers within two seconds, or counts as unreachable. */
const reachable = <E, R>(check: Effect.Effect<unknown, E, R>) =>
  check.pipe(
    Effect.timeout("2 seconds"),
    Effect.as<Observation>({ firing: false, detail: "answers" }),
    Effect.catchAllCause(() =>
      Effect.succeed<Observation>({ firing: true, detail: "does not answer within 2 s" })
    )
  )

/** An interval literal for PostgreSQL: rules about events fire while the window holds one. */
const recent = (window: Duration.Duration) => `${Math.max(1, Math.round(Duration.toSeconds(window)))} seconds`

/**
 * The rules this process can judge: reachability of what it uses; the writer, the pipeline, jobs, dead
 * letters and webhooks where the writer runs (the `worker` and `all` roles); the spool where taps are
 * recorded into Redis (the `api` and `all` roles). DESIGN.md §8.
 */
export const rulesOf = (options: { readonly writer: boolean; readonly recorder: boolean }) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { alerts } = config
    const sql = yield* SqlClient.SqlClient
    const cache = yield* Cache
    const rules: Array<AlertRule> = [
      {
        name: "postgres_unreachable",
        summary: "PostgreSQL does not answer",
        observe: Effect.provideService(reachable(checkReady), SqlClient.SqlClient, sql)
      }
    ]
    if (Redis.isConfigured(config.redis)) {
      rules.push({
        name: "redis_unreachable",
        summary: "Redis does not answer",
        observe: reachable(cache.ping)
      })
    }
    if (options.recorder && Redis.isConfigured(config.redis)) {
      const recorder = yield* TapRecorder
      rules.push({
        name: "spool_growing",
        summary: "Taps wait in the on-disk journal for Redis",
        observe: Effect.sync(() => {
          const { journalSegments, spooled, replayed } = recorder.stats()
          return {
            firing: journalSegments > alerts.spoolSegmentsThreshold,
            detail: `${journalSegments} journal segments on disk (threshold ${alerts.spoolSegmentsThreshold}); ${spooled} taps spooled, ${replayed} replayed since start`
          }
        })
      })
      // Taps held in memory because the journal cannot write are one crash from loss; past the bound, lost.
      let lostSeen = recorder.stats().dropped
      rules.push({
        name: "journal_failing",
        summary: "The tap journal cannot write (a full disk?): taps wait in memory only, or are lost",
        observe: Effect.sync(() => {
          const { journal, held, dropped } = recorder.stats()
          const lostNow = dropped - lostSeen
          lostSeen = dropped
          return {
            firing: journal === "failing" || held > 0 || lostNow > 0,
            detail: `journal ${journal}; ${held} taps in memory only; ${lostNow} lost since the last check, ${dropped} since start`
          }
        })
      })
    }
    if (!options.writer) return rules

    const status = yield* TapWriterStatus
    // The lag and backlog rules read the same health in one round: one set of Redis round trips for both.
    const health = yield* Effect.cachedWithTTL((yield* TapQueue).health, "1 second")
    const jobs = yield* Jobs
    const sinks = yield* SinksBehind
    const sinkStatuses = yield* TapSinkStatuses
    const lagMs = Duration.toMillis(alerts.lagThreshold)
    const window = recent(alerts.window)
    rules.push(
      {
        name: "writer_not_writing",
        summary: "The tap writer cannot store taps",
        observe: Effect.sync(() => {
          const { state, failingSinceMs, lastError } = status.snapshot()
          return state === "failing"
            ? { firing: true, detail: `failing for ${seconds(failingSinceMs ?? 0)}: ${lastError}` }
            : { firing: false, detail: `writer ${state}` }
        })
      },
      {
        name: "pipeline_lag",
        summary: "Taps reach PostgreSQL late",
        observe: Effect.map(health, ({ oldestUnstoredMs, lag, pending }) => ({
          firing: oldestUnstoredMs !== null && oldestUnstoredMs > lagMs,
          detail:
            oldestUnstoredMs === null
              ? "every tap is stored"
              : `the oldest tap not yet stored is ${seconds(oldestUnstoredMs)} old (threshold ${seconds(lagMs)}); ${lag} unread, ${pending} being stored`
        }))
      },
      {
        name: "stream_backlog",
        summary: "Taps pile up in the stream",
        observe: Effect.map(health, ({ lag }) => ({
          firing: lag > alerts.backlogThreshold,
          detail: `${lag} taps not yet read by a writer (threshold ${alerts.backlogThreshold})`
        }))
      },
      {
        name: "sink_behind",
        summary: "A tap sink fell TAP_STREAM_MAX_ENTRIES behind: taps it had not read were trimmed for it",
        observe: Effect.sync(() => {
          const behind = sinks.behind()
          return behind.length > 0
            ? { firing: true, detail: `behind: ${behind.join(", ")} (cap ${config.taps.streamMaxEntries})` }
            : { firing: false, detail: "every sink is within TAP_STREAM_MAX_ENTRIES" }
        })
      },
      {
        name: "sink_failing",
        summary: "A tap sink cannot deliver: its taps wait in the stream (a broker down?)",
        observe: Effect.sync(() => {
          const failing = sinkStatuses.failing()
          return failing.length > 0
            ? {
                firing: true,
                detail: failing
                  .map((sink) => `${sink.name} for ${seconds(sink.failingSinceMs ?? 0)}: ${sink.lastError}`)
                  .join("; ")
              }
            : { firing: false, detail: "every sink delivers" }
        })
      },
      {
        name: "dead_letters",
        summary: "Taps were refused by PostgreSQL and kept aside",
        observe: Effect.map(
          sql<{ count: string }>`
            select count(*) as count from tap_dead_letters
            where dead_lettered_at > now() - ${window}::interval`,
          (rows) => {
            const count = Number(rows[0]?.count ?? 0)
            return { firing: count > 0, detail: `${count} taps dead-lettered in the last ${window}` }
          }
        )
      },
      {
        name: "job_failures",
        summary: "Background jobs failed every attempt",
        observe: Effect.map(jobs.failed(1), (failed) => {
          const newest = failed[0]
          const since = Date.now() - Duration.toMillis(alerts.window)
          return newest !== undefined && newest.failedAt.getTime() > since
            ? {
                firing: true,
                detail: `the newest failed job: ${newest.queue} at ${newest.failedAt.toISOString()} (${newest.error.slice(0, 200)})`
              }
            : { firing: false, detail: "no job failed recently" }
        })
      },
      {
        name: "webhook_endpoint_disabled",
        summary: "Webhook or chat endpoints were disabled after failing",
        observe: Effect.map(
          sql<{ count: string }>`
            select count(*) as count from webhook_endpoints
            where not enabled and disabled_reason is not null and updated_at > now() - ${window}::interval`,
          (rows) => {
            const count = Number(rows[0]?.count ?? 0)
            return { firing: count > 0, detail: `${count} endpoints disabled in the last ${window}` }
          }
        )
      }
    )
    return rules
  })

/** The instance an alert comes from: the same rule may fire on several. */
export const instanceName = (serviceName: string) => `${serviceName}@${Os.hostname()}:${process.pid}`
