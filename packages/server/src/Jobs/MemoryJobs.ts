import { randomUUID } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Effect, FiberRef, Layer, Option } from "effect"
import { checkCron, dueQueues, everyMinute } from "./CronSchedule.js"
import { type FailedJob, isPermanent, Jobs, type JobsShape, type QueueOptions } from "./Jobs.js"

interface MemoryJob {
  readonly id: string
  readonly queue: string
  readonly payload: unknown
  readonly group: string | null
  /** Higher first; a grouped job's is minus its group's unfinished jobs when it was enqueued (Jobs.ts). */
  readonly priority: number
  attempts: number
  state: "created" | "active" | "failed" | "completed"
  runAfter: number
  error: string
  failedAt: Date
}

const DEFAULTS: QueueOptions = { retryLimit: 2, retryDelaySeconds: 1, backoff: true, concurrency: 1 }

/** Enqueues made inside `transactional`, published only when its transaction commits. */
const pendingEnqueues = FiberRef.unsafeMake<Array<MemoryJob> | null>(null)

/**
 * The embedded mode's queue: one process, jobs in memory (lost at exit), the same contract as pg-boss,
 * including enqueues that happen only if the caller's transaction commits. Cron schedules run at the start
 * of each matching minute.
 */
export const make = Effect.gen(function* () {
  const sql = yield* Effect.serviceOption(SqlClient.SqlClient)
  const jobs: Array<MemoryJob> = []
  const queues = new Map<string, QueueOptions>()
  const scheduled = new Map<string, string>()
  // One process: a queue's minute is enqueued once however often it is asked for.
  const lastEnqueued = new Map<string, number>()

  const unfinished = (queue: string, group: string, state: "created" | "active" | "both") =>
    jobs.filter(
      (j) =>
        j.queue === queue &&
        j.group === group &&
        (state === "both" ? j.state === "created" || j.state === "active" : j.state === state)
    ).length

  /** The next due job by priority, then age, skipping groups at their cap: as PgBossJobs claims. */
  const take = (queue: string) => {
    const now = Date.now()
    const cap = queues.get(queue)?.groupConcurrency
    let next: MemoryJob | undefined
    for (const j of jobs) {
      if (j.queue !== queue || j.state !== "created" || j.runAfter > now) continue
      if (next !== undefined && j.priority <= next.priority) continue
      if (cap !== undefined && j.group !== null && unfinished(queue, j.group, "active") >= cap) continue
      next = j
    }
    if (next !== undefined) next.state = "active"
    return next
  }

  const settle = (job: MemoryJob, failure: Option.Option<unknown>) => {
    if (Option.isNone(failure)) {
      job.state = "completed"
      jobs.splice(jobs.indexOf(job), 1)
      return
    }
    const options = queues.get(job.queue) ?? DEFAULTS
    job.error = failure.value instanceof Error ? failure.value.message : String(failure.value)
    if (job.attempts < options.retryLimit + 1 && !isPermanent(failure.value)) {
      const delay = options.retryDelaySeconds * 1000 * (options.backoff ? 2 ** (job.attempts - 1) : 1)
      job.state = "created"
      job.runAfter = Date.now() + delay
    } else {
      job.state = "failed"
      job.failedAt = new Date()
    }
  }

  const newJob = (queue: string, payload: unknown, group: string | null = null): MemoryJob => ({
    id: randomUUID(),
    queue,
    payload,
    group,
    priority: group === null ? 0 : -unfinished(queue, group, "both"),
    attempts: 0,
    state: "created",
    runAfter: Date.now(),
    error: "",
    failedAt: new Date(0)
  })

  const shape: JobsShape = {
    work: (queue, options, handler) =>
      Effect.gen(function* () {
        queues.set(queue, options)
        const loop = Effect.gen(function* () {
          const job = take(queue)
          if (job === undefined) return yield* Effect.sleep("100 millis")
          job.attempts++
          const exit = yield* Effect.exit(Effect.suspend(() => handler(job.payload)))
          settle(job, exit._tag === "Success" ? Option.none() : Option.some(Cause.squash(exit.cause)))
        }).pipe(Effect.forever)
        for (let i = 0; i < options.concurrency; i++) yield* Effect.forkScoped(loop)
      }),
    enqueue: (queue, payload, options) =>
      Effect.gen(function* () {
        const job = newJob(queue, payload, options?.group ?? null)
        const pending = yield* FiberRef.get(pendingEnqueues)
        if (pending !== null) pending.push(job)
        else jobs.push(job)
        return job.id
      }),
    transactional: (body) =>
      Effect.gen(function* () {
        const pending: Array<MemoryJob> = []
        const transaction = Option.match(sql, {
          onNone: () => body,
          onSome: (client) => client.withTransaction(body)
        })
        const result = yield* Effect.locally(transaction, pendingEnqueues, pending)
        jobs.push(...pending)
        return result
      }),
    schedule: (queue, cron) =>
      Effect.zipRight(
        checkCron(cron),
        Effect.sync(() => {
          scheduled.set(queue, cron)
        })
      ),
    schedules: Effect.sync(() => [...scheduled].map(([queue, cron]) => ({ queue, cron }))),
    enqueueDue: (minute) =>
      Effect.sync(() => {
        const due = dueQueues(scheduled, minute).filter(
          (queue) => (lastEnqueued.get(queue) ?? 0) < minute.getTime()
        )
        for (const queue of due) {
          lastEnqueued.set(queue, minute.getTime())
          jobs.push(newJob(queue, {}))
        }
        return due
      }),
    failed: (limit, before) =>
      Effect.sync(() =>
        jobs
          .filter((j) => j.state === "failed")
          .sort((a, b) => b.failedAt.getTime() - a.failedAt.getTime() || (a.id < b.id ? 1 : -1))
          .filter(
            (j) =>
              before === undefined ||
              j.failedAt.getTime() < before.failedAt.getTime() ||
              (j.failedAt.getTime() === before.failedAt.getTime() && j.id < before.id)
          )
          .slice(0, limit)
          .map(
            (j): FailedJob => ({
              id: j.id,
              queue: j.queue,
              payload: j.payload,
              attempts: j.attempts,
              error: j.error,
              failedAt: j.failedAt
            })
          )
      ),
    retry: (id) =>
      Effect.sync(() => {
        const job = jobs.find((j) => j.id === id && j.state === "failed")
        if (job === undefined) return false
        job.state = "created"
        job.attempts = 0
        job.runAfter = Date.now()
        return true
      })
  }

  yield* everyMinute((minute) => Effect.asVoid(shape.enqueueDue(minute)))
  return shape
})

export const layer = Layer.scoped(Jobs, make)
