import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { NotFound, ServiceUnavailable, TaplineApi } from "@tapline/domain"
import { DateTime, Effect } from "effect"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { Audit } from "../Audit/Audit.js"
import { requirePlatformAdmin } from "../Auth/Authorization.js"
import { Jobs } from "../Jobs/Jobs.js"
import { Projector } from "../ReadModel/Projector.js"
import { TapQueue } from "../Taps/TapQueue.js"
import { TapRecorder } from "../Taps/TapRecorder.js"
import { TapStore } from "../Taps/TapStore.js"
import { TapWriterStatus } from "../Taps/TapWriterStatus.js"

export const InfrastructureHandlers = HttpApiBuilder.group(TaplineApi, "infrastructure", (handlers) =>
  Effect.gen(function* () {
    const projector = yield* Projector
    const queue = yield* TapQueue
    const recorder = yield* TapRecorder
    const audit = yield* Audit
    const jobs = yield* Jobs
    const tapStore = yield* TapStore
    const writer = yield* TapWriterStatus
    return handlers
      .handle("deadLetters", ({ urlParams }) =>
        Effect.gen(function* () {
          yield* requirePlatformAdmin
          // The cursor is "<dead-lettered at, ISO>|<tap id>".
          const cursor = yield* decodeCursor(urlParams.cursor, (key) => /^\d{4}-[^|]+\|.{1,200}$/.test(key))
          const after =
            cursor === null
              ? undefined
              : {
                  at: new Date(cursor.slice(0, cursor.indexOf("|"))),
                  tapId: cursor.slice(cursor.indexOf("|") + 1)
                }
          const rows = yield* Effect.orDie(tapStore.deadLetters(urlParams.limit + 1, after))
          return toPage(
            rows.map((row) => ({ ...row, deadLetteredAt: DateTime.unsafeFromDate(row.deadLetteredAt) })),
            urlParams.limit,
            (row) => `${DateTime.formatIso(row.deadLetteredAt)}|${row.tapId}`
          )
        })
      )
      .handle("redriveDeadLetters", ({ urlParams }) =>
        Effect.gen(function* () {
          yield* requirePlatformAdmin
          const result = yield* Effect.orDie(tapStore.redrive(urlParams.limit))
          for (const [orgId, uids] of result.assigned) yield* Effect.orDie(projector.bands(orgId, uids))
          const remaining = yield* Effect.orDie(tapStore.deadLetterCount)
          const summary = {
            tried: result.tried,
            stored: result.stored,
            stillRefused: result.stillRefused,
            remaining
          }
          yield* audit.record({
            organizationId: null,
            action: "tap.dead_letters.redrive",
            resourceType: "tap_dead_letters",
            resourceId: null,
            newValues: summary
          })
          return summary
        })
      )
      .handle("failedJobs", ({ urlParams }) =>
        Effect.gen(function* () {
          yield* requirePlatformAdmin
          // The cursor is "<failed at, ISO>|<job id>": failures are ordered by time, then id.
          const cursor = yield* decodeCursor(urlParams.cursor, (key) =>
            /^\d{4}-[^|]+\|[0-9a-f-]{36}$/i.test(key)
          )
          const before =
            cursor === null
              ? undefined
              : { failedAt: new Date(cursor.split("|")[0]!), id: cursor.split("|")[1]! }
          const failed = yield* Effect.orDie(jobs.failed(urlParams.limit + 1, before))
          return toPage(
            failed.map((job) => ({ ...job, failedAt: DateTime.unsafeFromDate(job.failedAt) })),
            urlParams.limit,
            (job) => `${DateTime.formatIso(job.failedAt)}|${job.id}`
          )
        })
      )
      .handle("retryJob", ({ path }) =>
        Effect.gen(function* () {
          yield* requirePlatformAdmin
          const retried = yield* Effect.orDie(jobs.retry(path.jobId))
          if (!retried) return yield* new NotFound({ resource: "failed job", id: path.jobId })
          yield* audit.record({
            organizationId: null,
            action: "job.retry",
            resourceType: "job",
            resourceId: path.jobId
          })
          return { retried }
        })
      )
      .handle("readModel", () => requirePlatformAdmin.pipe(Effect.zipRight(Effect.orDie(projector.status))))
      .handle("rebuildReadModel", ({ urlParams }) =>
        Effect.gen(function* () {
          yield* requirePlatformAdmin
          const started = Date.now()
          const result = yield* Effect.orDie(projector.rebuild({ onlyStale: urlParams.onlyStale }))
          yield* audit.record({
            organizationId: null,
            action: "read_model.rebuild",
            resourceType: "read_model",
            resourceId: null,
            newValues: { ...result, onlyStale: urlParams.onlyStale }
          })
          return { organizations: result.organizations, milliseconds: Date.now() - started }
        })
      )
      .handle("pipeline", () =>
        Effect.gen(function* () {
          yield* requirePlatformAdmin
          const health = yield* queue.health.pipe(
            Effect.catchTag("TapQueueError", (error) =>
              Effect.logWarning("pipeline health unavailable", error).pipe(
                Effect.zipRight(new ServiceUnavailable({ checks: { redis: "failing" } }))
              )
            )
          )
          const deadLetters = yield* tapStore.deadLetterCount.pipe(
            Effect.catchTag("SqlError", (error) =>
              Effect.logWarning("dead-letter count unavailable", error).pipe(
                Effect.zipRight(new ServiceUnavailable({ checks: { database: "failing" } }))
              )
            )
          )
          const { state, failingSinceMs, lastError } = writer.snapshot()
          return {
            ...health,
            recorder: recorder.stats(),
            writer: { state, failingSinceMs, lastError },
            deadLetters
          }
        })
      )
  })
)
