import { createHash } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Effect, Exit, FiberRef, Layer, Queue, Runtime } from "effect"
import PgBoss from "pg-boss"
import { checkCron, dueQueues, everyMinute } from "./CronSchedule.js"
import { type FailedJob, type Handler, isPermanent, Jobs, JobsError, type JobsShape } from "./Jobs.js"

const SCHEMA = "pgboss"

/** How often this process asks which of its queues have a job due (an enqueue here wakes them at once). */
const POLL = "500 millis"

/** Queues enqueued to inside `transactional`: their pollers here are woken when the transaction commits. */
const enqueuedInTransaction = FiberRef.unsafeMake<Set<string> | null>(null)

const errorMessage = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/** What PostgreSQL said, under the SqlError's own "Failed to execute statement". */
const causeOf = (error: JobsError) => errorMessage((error.cause as { cause?: unknown } | undefined)?.cause)

/**
 * Jobs on pg-boss (PostgreSQL, SKIP LOCKED): retries with backoff, failed jobs kept as the dead letter,
 * cron schedules, any number of workers across instances. Jobs are claimed by our own statement, not
 * pg-boss's fetch, which knows no groups: organisations take turns and each has a cap (Jobs.ts). Its connection pool is its own; enqueues made
 * inside `transactional` run on the caller's transaction connection instead.
 */
export const make = (options: {
  readonly connectionString: string
  readonly ssl: unknown
  readonly poolMax: number
}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const run = <A>(operation: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (cause) => new JobsError({ operation, message: errorMessage(cause), cause })
      })

    const boss = yield* Effect.acquireRelease(
      run("start", async () => {
        const boss = new PgBoss({
          connectionString: options.connectionString,
          ssl: options.ssl as never,
          max: options.poolMax,
          schema: SCHEMA,
          application_name: "tapline-jobs",
          // Schedules are ours (CronSchedule): pg-boss's timekeeper stalls the event loop once a minute.
          schedule: false
        })
        boss.on("error", () => {})
        await boss.start()
        return boss
      }),
      (boss) =>
        Effect.promise(() => boss.stop({ graceful: true, timeout: 5_000, wait: true })).pipe(
          Effect.interruptible,
          Effect.timeoutOption("6 seconds")
        )
    )

    const created = new Set<string>()
    // A job enqueued by this process is taken by its own idle pollers at once, not at their next poll.
    const wakes = new Map<string, Queue.Queue<void>>()
    const wake = (queue: string) => {
      const signal = wakes.get(queue)
      return signal === undefined ? Effect.void : Queue.offer(signal, undefined)
    }
    const scheduled = new Map<string, string>()
    // One queue created at a time: each is a partition of pg-boss's job table, and PostgreSQL answers two
    // creations at once with "deadlock detected" (the features register their workers concurrently).
    const creating = yield* Effect.makeSemaphore(1)
    const ensureQueue = (
      queue: string,
      retry?: { retryLimit: number; retryDelay: number; retryBackoff: boolean }
    ) =>
      created.has(queue)
        ? Effect.void
        : creating.withPermits(1)(
            run("createQueue", async () => {
              if ((await boss.getQueue(queue)) === null)
                await boss.createQueue(queue, { name: queue, ...retry })
              else if (retry !== undefined) await boss.updateQueue(queue, { name: queue, ...retry })
              created.add(queue)
            })
          )

    /**
     * One statement for every queue this process works: which have a job due. Their idle pollers wait for it
     * (or for an enqueue here) instead of each claiming on its own queue twice a second: an idle process
     * then costs one query per poll, not a transaction per poller (`pnpm bench:redirect-cpu` found the
     * pollers tripled an idle API's CPU and cost the redirect a third of its throughput).
     */
    const watchDue = Effect.gen(function* () {
      const queues = [...wakes.keys()]
      if (queues.length === 0) return
      const due = yield* sql<{ name: string }>`
        select distinct name from ${sql(SCHEMA)}.job
        where name in ${sql.in(queues)} and state < 'active' and start_after < now()`
      yield* Effect.forEach(due, (row) => wake(row.name), { discard: true })
    })
    yield* watchDue.pipe(
      Effect.catchAll((error) =>
        Effect.logWarning("job queue unreachable; polling again", error.message).pipe(
          Effect.zipRight(Effect.sleep("2 seconds"))
        )
      ),
      Effect.zipRight(Effect.sleep(POLL)),
      Effect.forever,
      Effect.forkScoped
    )

    /** The enqueue connection: inside a transaction, the transaction's own. */
    const connection = Effect.gen(function* () {
      const inTransaction = yield* Effect.serviceOption(SqlClient.TransactionConnection)
      if (inTransaction._tag === "None") return undefined
      const runtime = yield* Effect.runtime<never>()
      return {
        executeSql: (text: string, values: Array<unknown>) =>
          Runtime.runPromise(runtime)(
            sql.unsafe(text, values).raw as Effect.Effect<{ rows: Array<unknown> }, unknown>
          )
      }
    })

    /**
     * A group's jobs not yet finished (waiting, due for a retry, or running), counted on the caller's
     * transaction when there is one. Its negation is the new job's priority: the queue takes higher
     * priorities first, so the groups' jobs are taken in turn however deep one group's backlog is.
     */
    const unfinishedOf = (queue: string, group: string) =>
      sql<{ n: number }>`
        select count(*)::int as n from ${sql(SCHEMA)}.job
        where name = ${queue} and singleton_key = ${group} and state < 'completed'`.pipe(
        Effect.map(([row]) => row?.n ?? 0),
        Effect.mapError((cause) => new JobsError({ operation: "enqueue", message: cause.message, cause }))
      )

    /**
     * Claims the next due job as pg-boss's own fetch does (same state change and retry count), but in
     * priority order skipping the groups that have `cap` jobs running. The count and the claim are one
     * decision only if no other claim on the queue runs between them: a transaction-scoped advisory lock
     * on the queue makes the claims of every instance take turns (each is one short statement).
     */
    const claim = (queue: string, cap: number | undefined) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            if (cap !== undefined)
              yield* sql`select pg_advisory_xact_lock(hashtext(${`tapline-jobs:${queue}`}))`
            const capped =
              cap === undefined
                ? sql`select null::text as grp where false`
                : sql`select singleton_key as grp from ${sql(SCHEMA)}.job
                    where name = ${queue} and state = 'active' and singleton_key is not null
                    group by singleton_key having count(*) >= ${cap}`
            const [job] = yield* sql<{ id: string; data: unknown }>`
              with capped as (${capped}),
              next as (
                select id from ${sql(SCHEMA)}.job
                where name = ${queue} and state < 'active' and start_after < now()
                  and (singleton_key is null or singleton_key not in (select grp from capped))
                order by priority desc, created_on, id
                limit 1
                for update skip locked
              )
              update ${sql(SCHEMA)}.job j set state = 'active', started_on = now(),
                retry_count = case when started_on is not null then retry_count + 1 else retry_count end
              from next where j.name = ${queue} and j.id = next.id
              returning j.id, j.data`
            return job
          })
        )
        .pipe(Effect.mapError((cause) => new JobsError({ operation: "work", message: cause.message, cause })))

    /**
     * Claims and works one job; false when none was due. A claimed job is always settled: completed, failed
     * (pg-boss retries it, or keeps it as failed), or, when the process stops mid-job, put back untouched.
     */
    const workOne = (queue: string, cap: number | undefined, handler: Handler) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const job = yield* claim(queue, cap)
          if (job === undefined) return false
          const exit = yield* Effect.exit(restore(Effect.suspend(() => handler(job.data))))
          if (Exit.isSuccess(exit)) {
            yield* run("complete", () => boss.complete(queue, job.id))
          } else if (Cause.isInterruptedOnly(exit.cause)) {
            yield* sql`update ${sql(SCHEMA)}.job set state = 'created', started_on = null
              where name = ${queue} and id = ${job.id}::uuid and state = 'active'`.pipe(Effect.ignore)
          } else {
            const failure = Cause.squash(exit.cause)
            // pg-boss retries while retry_count < retry_limit: closing that gap fails it for good.
            if (isPermanent(failure)) {
              yield* sql`update ${sql(SCHEMA)}.job set retry_limit = retry_count
                where name = ${queue} and id = ${job.id}::uuid`.pipe(Effect.ignore)
            }
            // pg-boss keeps this as the failed job's output: a plain message.
            yield* run("fail", () => boss.fail(queue, job.id, { message: errorMessage(failure) }))
          }
          return true
        })
      )

    const shape: JobsShape = {
      work: (queue, queueOptions, handler) =>
        Effect.gen(function* () {
          yield* ensureQueue(queue, {
            retryLimit: queueOptions.retryLimit,
            retryDelay: queueOptions.retryDelaySeconds,
            retryBackoff: queueOptions.backoff
          })
          const signal = wakes.get(queue) ?? (yield* Queue.sliding<void>(1))
          wakes.set(queue, signal)
          // One job per claim, `concurrency` pollers: a failing job fails alone, never its batch-mates. An
          // idle poller waits to be woken (by the watcher or an enqueue here); one that found a job wakes
          // the next, so a backlog has every poller on it at once.
          const poller = workOne(queue, queueOptions.groupConcurrency, handler).pipe(
            Effect.flatMap((worked) => (worked ? wake(queue) : Queue.take(signal))),
            Effect.catchAll((error) =>
              Effect.logWarning("job queue unreachable; polling again", error.message, causeOf(error)).pipe(
                Effect.annotateLogs({ queue }),
                Effect.zipRight(Effect.sleep("2 seconds"))
              )
            ),
            Effect.forever
          )
          for (let i = 0; i < queueOptions.concurrency; i++) yield* Effect.forkScoped(poller)
        }),
      enqueue: (queue, payload, enqueueOptions) =>
        Effect.gen(function* () {
          yield* ensureQueue(queue)
          const db = yield* connection
          const group = enqueueOptions?.group
          const turn =
            group === undefined ? {} : { singletonKey: group, priority: -(yield* unfinishedOf(queue, group)) }
          const id = yield* run("enqueue", () =>
            boss.send(queue, payload, db === undefined ? turn : { ...turn, db })
          )
          const pending = yield* FiberRef.get(enqueuedInTransaction)
          if (db === undefined) yield* wake(queue)
          else pending?.add(queue)
          return id
        }),
      transactional: (body) =>
        Effect.gen(function* () {
          const pending = new Set<string>()
          const result = yield* Effect.locally(sql.withTransaction(body), enqueuedInTransaction, pending)
          yield* Effect.forEach(pending, wake, { discard: true })
          return result
        }),
      schedule: (queue, cron) =>
        checkCron(cron).pipe(
          Effect.zipRight(ensureQueue(queue)),
          // A schedule an earlier version left in pg-boss's own table would fire beside ours.
          Effect.zipRight(run("schedule", () => boss.unschedule(queue))),
          Effect.zipRight(Effect.sync(() => scheduled.set(queue, cron)))
        ),
      schedules: Effect.sync(() => [...scheduled].map(([queue, cron]) => ({ queue, cron }))),
      // The job id is derived from queue and minute, and pg-boss inserts a known id once: the first
      // instance to ask wins, whatever the clocks' skew.
      enqueueDue: (minute) =>
        Effect.filter(
          dueQueues(scheduled, minute),
          (queue) =>
            run("enqueue", () => boss.send(queue, {}, { id: scheduledJobId(queue, minute) })).pipe(
              Effect.map((id) => id !== null)
            ),
          { concurrency: "unbounded" }
        ),
      // Times at millisecond precision, as a cursor carries them: with microseconds a page could skip jobs.
      failed: (limit, before) =>
        sql<{
          id: string
          name: string
          data: unknown
          retryCount: number
          output: unknown
          completedOn: Date
        }>`
          select id, name, data, retry_count, output, date_trunc('milliseconds', completed_on) as completed_on
          from ${sql(SCHEMA)}.job
          where state = 'failed'
            ${before === undefined ? sql`` : sql`and (date_trunc('milliseconds', completed_on), id) < (${before.failedAt}, ${before.id}::uuid)`}
          order by date_trunc('milliseconds', completed_on) desc, id desc limit ${limit}`.pipe(
          Effect.map((rows) =>
            rows.map(
              (row): FailedJob => ({
                id: row.id,
                queue: row.name,
                payload: row.data,
                attempts: Number(row.retryCount) + 1,
                error: describeOutput(row.output),
                failedAt: row.completedOn
              })
            )
          ),
          Effect.mapError((cause) => new JobsError({ operation: "failed", message: cause.message, cause }))
        ),
      retry: (id) =>
        Effect.gen(function* () {
          const [row] = yield* sql<{ name: string }>`
            select name from ${sql(SCHEMA)}.job where id = ${id}::uuid and state = 'failed'`.pipe(
            Effect.mapError((cause) => new JobsError({ operation: "retry", message: cause.message, cause }))
          )
          if (row === undefined) return false
          yield* run("retry", () => boss.retry(row.name, id))
          return true
        })
    }
    yield* everyMinute((minute) =>
      shape
        .enqueueDue(minute)
        .pipe(Effect.catchAll((error) => Effect.logWarning("scheduled jobs not enqueued", error.message)))
    )
    return shape
  })

/** The same UUID for the same queue and minute on every instance. */
export const scheduledJobId = (queue: string, minute: Date) => {
  const hex = createHash("sha256").update(`${queue}@${minute.toISOString()}`).digest("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/** pg-boss stores what a failed handler threw as JSON; keep its message. */
const describeOutput = (output: unknown): string => {
  if (output === null || output === undefined) return ""
  if (typeof output === "object" && "message" in output)
    return String((output as { message: unknown }).message)
  return JSON.stringify(output).slice(0, 1000)
}

export const layer = (options: {
  readonly connectionString: string
  readonly ssl: unknown
  readonly poolMax: number
}) => Layer.scoped(Jobs, make(options))
