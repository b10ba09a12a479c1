import type * as SqlError from "@effect/sql/SqlError"
import { Cause, Context, Data, Effect, Exit, Option, Schema, type Scope } from "effect"
import { Metrics } from "../Telemetry/Metrics.js"

export class JobsError extends Data.TaggedError("JobsError")<{
  readonly operation: string
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * A handler's verdict that trying again cannot help (the email provider refused the address): the job
 * goes to the failed jobs at once, whatever attempts it had left, with this message as its error.
 */
export class PermanentJobFailure extends Data.TaggedError("PermanentJobFailure")<{
  readonly message: string
}> {}

export const isPermanent = (failure: unknown): boolean =>
  typeof failure === "object" &&
  failure !== null &&
  (failure as { _tag?: unknown })._tag === "PermanentJobFailure"

export interface QueueOptions {
  /** Attempts after the first; a job that fails them all stays failed (the dead letter) until retried. */
  readonly retryLimit: number
  readonly retryDelaySeconds: number
  /** Doubles the delay after each failure. */
  readonly backoff: boolean
  /** Jobs of this queue one process works at once. */
  readonly concurrency: number
  /**
   * Jobs of one group (an organisation: `EnqueueOptions.group`) in flight at once, across every process
   * working the queue; unset, a group may take every slot.
   */
  readonly groupConcurrency?: number
}

export interface EnqueueOptions {
  /**
   * Whose job this is (an organisation id). The queue takes the groups' jobs in turn, whatever the size of
   * one group's backlog, and caps each group at `QueueOptions.groupConcurrency`: one organisation's flood
   * waits behind itself, not in front of everyone else.
   */
  readonly group?: string
}

export interface FailedJob {
  readonly id: string
  readonly queue: string
  readonly payload: unknown
  readonly attempts: number
  readonly error: string
  readonly failedAt: Date
}

export type Handler = (payload: unknown) => Effect.Effect<void, unknown>

export interface JobsShape {
  /** Creates the queue (idempotent) and works it in this process until the scope closes. */
  readonly work: (
    queue: string,
    options: QueueOptions,
    handler: Handler
  ) => Effect.Effect<void, JobsError, Scope.Scope>
  /**
   * Enqueues a job. Inside `transactional`, it is enqueued with the caller's transaction: it exists if
   * and only if the transaction commits.
   */
  readonly enqueue: (
    queue: string,
    payload: object,
    options?: EnqueueOptions
  ) => Effect.Effect<string | null, JobsError>
  /** Runs `body` in a database transaction that enqueues commit with. */
  readonly transactional: <A, E, R>(
    body: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | SqlError.SqlError, R>
  /** Enqueues `queue` on a cron expression (minute precision), on whichever instance is due first. */
  readonly schedule: (queue: string, cron: string) => Effect.Effect<void, JobsError>
  readonly schedules: Effect.Effect<
    ReadonlyArray<{ readonly queue: string; readonly cron: string }>,
    JobsError
  >
  /**
   * Enqueues the scheduled queues due at `minute`, once per queue and minute across every instance; returns
   * those this call enqueued. Each instance calls it just after every minute boundary.
   */
  readonly enqueueDue: (minute: Date) => Effect.Effect<ReadonlyArray<string>, JobsError>
  /** Newest first; `before` is the last job of the previous page. */
  readonly failed: (
    limit: number,
    before?: { readonly failedAt: Date; readonly id: string }
  ) => Effect.Effect<ReadonlyArray<FailedJob>, JobsError>
  /** Redrives a failed job: it runs again with a fresh set of attempts. False when no such failed job. */
  readonly retry: (id: string) => Effect.Effect<boolean, JobsError>
}

/** Background work on a job queue: pg-boss on PostgreSQL, or memory in the embedded mode. */
export class Jobs extends Context.Tag("@tapline/server/Jobs")<Jobs, JobsShape>() {}

/** A queue and the Schema of its payload: what is enqueued is encoded by it, what is worked decoded by it. */
export interface JobQueue<A, I> {
  readonly name: string
  readonly payload: Schema.Schema<A, I>
}

export const jobQueue = <A, I>(name: string, payload: Schema.Schema<A, I>): JobQueue<A, I> => ({
  name,
  payload
})

/** A recurring queue: its jobs carry nothing. */
export const recurringQueue = (name: string) => jobQueue(name, Schema.Struct({}))

/**
 * Works `queue` with a handler of its payload type. A payload that does not decode fails the job with the
 * decode error (it ends among the failed jobs, where an operator sees why), instead of reaching the handler.
 */
export const workQueue = <A, I>(
  jobs: JobsShape,
  queue: JobQueue<A, I>,
  options: QueueOptions,
  handler: (payload: A) => Effect.Effect<void, unknown>
) =>
  jobs.work(queue.name, options, (raw) =>
    Effect.flatMap(Schema.decodeUnknown(queue.payload)(raw, { onExcessProperty: "ignore" }), handler).pipe(
      Effect.onExit((exit) => countOutcome(queue.name, exit)),
      Effect.withSpan(`Job ${queue.name}`, {
        kind: "consumer",
        attributes: { "messaging.system": "tapline-jobs", "messaging.destination.name": queue.name }
      })
    )
  )

/** The job's outcome, for `tapline_jobs_total`, where the runtime has metrics. */
const countOutcome = (queue: string, exit: Exit.Exit<unknown, unknown>) =>
  Effect.map(Effect.serviceOption(Metrics), (metrics) => {
    if (Option.isNone(metrics)) return
    const outcome = Exit.isSuccess(exit)
      ? "completed"
      : isPermanent(Cause.squash(exit.cause))
        ? "dead"
        : "failed"
    metrics.value.jobs.inc({ queue, outcome })
  })

/** Enqueues a payload of the queue's type (in the caller's transaction inside `transactional`). */
export const enqueueJob = <A, I>(
  jobs: JobsShape,
  queue: JobQueue<A, I>,
  payload: A,
  options?: EnqueueOptions
) =>
  Effect.flatMap(Effect.orDie(Schema.encode(queue.payload)(payload)), (encoded) =>
    jobs.enqueue(queue.name, encoded as object, options)
  )
