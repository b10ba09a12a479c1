import { NotFound, ServiceUnavailable } from "@tapline/domain"
import { DateTime, Effect } from "effect"
import {
  isTimeKey,
  isUuid,
  listPage,
  type PageRequest,
  timeCursorKey,
  timePosition
} from "../Admin/Pagination.js"
import { Audit } from "../Audit/Audit.js"
import { Jobs } from "../Jobs/Jobs.js"
import { Projector } from "../ReadModel/Projector.js"
import { TapQueue } from "../Taps/TapQueue.js"
import { TapRecorder } from "../Taps/TapRecorder.js"
import { TapStore } from "../Taps/TapStore.js"
import { TapWriterStatus } from "../Taps/TapWriterStatus.js"

const isTapId = (id: string) => id.length > 0 && id.length <= 200

/**
 * What a platform operator sees and repairs (docs/runbook.md): the tap pipeline's health, taps PostgreSQL
 * refused (dead letters) and their redrive, jobs that failed every attempt and their retry, the read model's
 * staleness and its rebuild. Every repair is audited with the platform as its organisation (null). A backend
 * that cannot answer is an outage here (die or 503), never an empty list.
 */
export class Infrastructure extends Effect.Service<Infrastructure>()("@tapline/server/Infrastructure", {
  effect: Effect.gen(function* () {
    const projector = yield* Projector
    const queue = yield* TapQueue
    const recorder = yield* TapRecorder
    const writer = yield* TapWriterStatus
    const tapStore = yield* TapStore
    const jobs = yield* Jobs
    const audit = yield* Audit

    /** Oldest first. */
    const deadLetters = Effect.fn("Infrastructure.deadLetters")(function* (request: PageRequest) {
      return yield* listPage(
        request,
        ({ after, limit }) => tapStore.deadLetters(limit + 1, timePosition(after)),
        (row) => Effect.succeed({ ...row, deadLetteredAt: DateTime.unsafeFromDate(row.deadLetteredAt) }),
        (row) => timeCursorKey(row.deadLetteredAt, row.tapId),
        isTimeKey(isTapId)
      )
    })

    const redriveDeadLetters = Effect.fn("Infrastructure.redriveDeadLetters")(function* (limit: number) {
      const result = yield* Effect.orDie(tapStore.redrive(limit))
      for (const [organizationId, bandUids] of result.assigned) {
        yield* Effect.orDie(projector.bands(organizationId, bandUids))
      }
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

    /** Newest first. */
    const failedJobs = Effect.fn("Infrastructure.failedJobs")(function* (request: PageRequest) {
      return yield* listPage(
        request,
        ({ after, limit }) => {
          const position = timePosition(after)
          return jobs.failed(limit + 1, position && { failedAt: position.at, id: position.id })
        },
        (job) => Effect.succeed({ ...job, failedAt: DateTime.unsafeFromDate(job.failedAt) }),
        (job) => timeCursorKey(job.failedAt, job.id),
        isTimeKey(isUuid)
      )
    })

    const retryJob = Effect.fn("Infrastructure.retryJob")(function* (id: string) {
      const retried = yield* Effect.orDie(jobs.retry(id))
      if (!retried) return yield* new NotFound({ resource: "failed job", id })
      yield* audit.record({ organizationId: null, action: "job.retry", resourceType: "job", resourceId: id })
      return { retried }
    })

    const rebuildReadModel = Effect.fn("Infrastructure.rebuildReadModel")(function* (onlyStale: boolean) {
      const started = Date.now()
      const result = yield* Effect.orDie(projector.rebuild({ onlyStale }))
      yield* audit.record({
        organizationId: null,
        action: "read_model.rebuild",
        resourceType: "read_model",
        resourceId: null,
        newValues: { ...result, onlyStale }
      })
      return { organizations: result.organizations, milliseconds: Date.now() - started }
    })

    /** Answers 503 naming the backend that cannot be read, so a probe tells Redis from PostgreSQL. */
    const pipeline = Effect.gen(function* () {
      const health = yield* queue.health.pipe(
        Effect.catchTag("TapQueueError", (error) =>
          Effect.logWarning("pipeline health unavailable", error).pipe(
            Effect.zipRight(new ServiceUnavailable({ checks: { redis: "failing" } }))
          )
        )
      )
      const deadLetterCount = yield* tapStore.deadLetterCount.pipe(
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
        deadLetters: deadLetterCount
      }
    }).pipe(Effect.withSpan("Infrastructure.pipeline"))

    return {
      readModel: Effect.orDie(projector.status),
      rebuildReadModel,
      pipeline,
      deadLetters,
      redriveDeadLetters,
      failedJobs,
      retryJob
    } as const
  })
}) {}
