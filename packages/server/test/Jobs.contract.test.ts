import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Effect, Layer, Queue, Ref, Schedule, Schema } from "effect"
import { layerPool } from "../src/Database/Database.js"
import { dueQueues } from "../src/Jobs/CronSchedule.js"
import { enqueueJob, Jobs, jobQueue, PermanentJobFailure, workQueue } from "../src/Jobs/Jobs.js"
import * as MemoryJobs from "../src/Jobs/MemoryJobs.js"
import * as PgBossJobs from "../src/Jobs/PgBossJobs.js"
import { freshDatabase, poolOptions } from "./support/TestDatabase.js"

/*
 * One contract, two implementations: pg-boss on a real PostgreSQL (the production queue) and the embedded
 * mode's memory queue. Both run against a database so that "enqueued with the caller's transaction" means
 * the same thing.
 */

const quick = { retryLimit: 2, retryDelaySeconds: 1, backoff: false, concurrency: 2 }

const withDatabase = <E>(jobs: (url: string) => Layer.Layer<Jobs, E, SqlClient.SqlClient>) =>
  Layer.unwrapScoped(
    Effect.map(freshDatabase, ({ url }) => {
      const database = layerPool(poolOptions(url))
      return Layer.merge(jobs(url).pipe(Layer.provide(database)), database)
    })
  )

const implementations = {
  "pg-boss": withDatabase((url) => PgBossJobs.layer({ connectionString: url, ssl: false, poolMax: 4 })),
  memory: withDatabase(() => MemoryJobs.layer)
}

/** Polls a condition the workers change (no fixed sleep); fails after a generous bound. */
const waitUntil = (condition: () => boolean) =>
  Effect.sync(condition).pipe(
    Effect.repeat({ until: (met) => met, schedule: Schedule.spaced("20 millis") }),
    Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error("condition not met in time") })
  )

let counter = 0
const queueName = (what: string) => `test.${what}.${++counter}`

for (const [name, implementation] of Object.entries(implementations)) {
  describe(`Jobs contract: ${name}`, () => {
    layer(implementation as Layer.Layer<Jobs | SqlClient.SqlClient>, {
      excludeTestServices: true,
      timeout: 60_000
    })(name, (it) => {
      it.scoped("runs an enqueued job with its payload", () =>
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const queue = queueName("run")
          const seen = yield* Deferred.make<unknown>()
          yield* jobs.work(queue, quick, (payload) => Deferred.succeed(seen, payload))
          yield* jobs.enqueue(queue, { hello: "world" })
          expect(yield* Deferred.await(seen).pipe(Effect.timeout("20 seconds"))).toMatchObject({
            hello: "world"
          })
        })
      )

      it.scoped(
        "a typed queue hands its handler a decoded payload, and fails a payload that does not decode",
        () =>
          Effect.gen(function* () {
            const jobs = yield* Jobs
            const queue = jobQueue(queueName("typed"), Schema.Struct({ exportId: Schema.UUID }))
            const seen = yield* Deferred.make<string>()
            yield* workQueue(jobs, queue, { ...quick, retryLimit: 0 }, ({ exportId }) =>
              Deferred.succeed(seen, exportId)
            )
            const id = "01900000-0000-7000-8000-000000000001"
            yield* enqueueJob(jobs, queue, { exportId: id })
            expect(yield* Deferred.await(seen).pipe(Effect.timeout("20 seconds"))).toBe(id)
            // Written by something that does not know the queue's type: never reaches the handler.
            yield* jobs.enqueue(queue.name, { exportId: "not-a-uuid" })
            const failed = yield* jobs.failed(50).pipe(
              Effect.filterOrFail((list) => list.some((job) => job.queue === queue.name)),
              Effect.retry(Schedule.spaced("200 millis")),
              Effect.timeout("30 seconds")
            )
            const job = failed.find((j) => j.queue === queue.name)!
            expect(job.error).toContain("UUID")
            expect(job.payload).toMatchObject({ exportId: "not-a-uuid" })
          })
      )

      it.scoped("retries a failing job, keeps it as failed after the last attempt, and redrives it", () =>
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const queue = queueName("retry")
          const attempts = yield* Ref.make(0)
          const healed = yield* Ref.make(false)
          const done = yield* Deferred.make<void>()
          yield* jobs.work(queue, { ...quick, retryLimit: 1 }, () =>
            Effect.gen(function* () {
              yield* Ref.update(attempts, (n) => n + 1)
              if (!(yield* Ref.get(healed))) return yield* Effect.fail(new Error("downstream unavailable"))
              yield* Deferred.succeed(done, undefined)
            })
          )
          const id = yield* jobs.enqueue(queue, { n: 1 })
          let failed = yield* jobs.failed(100)
          const deadline = Date.now() + 30_000
          while (!failed.some((job) => job.id === id) && Date.now() < deadline) {
            yield* Effect.sleep("200 millis")
            failed = yield* jobs.failed(100)
          }
          const dead = failed.find((job) => job.id === id)
          expect(dead).toMatchObject({ queue, attempts: 2 })
          expect(dead?.error).toContain("downstream unavailable")
          expect(yield* Ref.get(attempts)).toBe(2)
          yield* Ref.set(healed, true)
          expect(yield* jobs.retry(id!)).toBe(true)
          yield* Deferred.await(done).pipe(Effect.timeout("20 seconds"))
          expect(yield* Ref.get(attempts)).toBe(3)
          expect((yield* jobs.failed(100)).some((job) => job.id === id)).toBe(false)
          expect(yield* jobs.retry("00000000-0000-4000-8000-000000000000")).toBe(false)
        })
      )

      it.scoped("a permanent failure goes to the failed jobs at once, with attempts left unused", () =>
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const queue = queueName("permanent")
          const attempts = yield* Ref.make(0)
          yield* jobs.work(queue, { ...quick, retryLimit: 5 }, () =>
            Ref.update(attempts, (n) => n + 1).pipe(
              Effect.zipRight(Effect.fail(new PermanentJobFailure({ message: "address refused" })))
            )
          )
          const id = yield* jobs.enqueue(queue, { n: 1 })
          const failed = yield* jobs.failed(100).pipe(
            Effect.filterOrFail((list) => list.some((job) => job.id === id)),
            Effect.retry(Schedule.spaced("200 millis")),
            Effect.timeout("30 seconds")
          )
          expect(failed.find((job) => job.id === id)).toMatchObject({ queue, attempts: 1 })
          expect(failed.find((job) => job.id === id)?.error).toContain("address refused")
          expect(yield* Ref.get(attempts)).toBe(1)
        })
      )

      it.scoped("a job enqueued in a transaction exists only if the transaction commits", () =>
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const sql = yield* SqlClient.SqlClient
          const queue = queueName("tx")
          const ran = yield* Ref.make<Array<unknown>>([])
          yield* sql`create table if not exists job_tx_test (n int)`
          yield* jobs
            .transactional(
              Effect.gen(function* () {
                yield* sql`insert into job_tx_test values (1)`
                yield* jobs.enqueue(queue, { n: "rolled back" })
                return yield* Effect.fail("abort")
              })
            )
            .pipe(Effect.ignore)
          yield* jobs.transactional(
            Effect.gen(function* () {
              yield* sql`insert into job_tx_test values (2)`
              yield* jobs.enqueue(queue, { n: "committed" })
            })
          )
          yield* jobs.work(queue, quick, (payload) => Ref.update(ran, (list) => [...list, payload]))
          const deadline = Date.now() + 20_000
          while ((yield* Ref.get(ran)).length === 0 && Date.now() < deadline)
            yield* Effect.sleep("100 millis")
          yield* Effect.sleep("1500 millis")
          expect((yield* Ref.get(ran)).map((p) => (p as { n: string }).n)).toEqual(["committed"])
          expect(yield* sql`select n from job_tx_test order by n`).toEqual([{ n: 2 }])
        })
      )

      it.scoped("many jobs across two workers run once each", () =>
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const queue = queueName("many")
          const seen = yield* Ref.make<Array<number>>([])
          const handler = (payload: unknown) =>
            Ref.update(seen, (list) => [...list, (payload as { n: number }).n])
          // Two registrations stand for two instances polling the same queue.
          yield* jobs.work(queue, quick, handler)
          yield* jobs.work(queue, quick, handler)
          for (let n = 0; n < 40; n++) yield* jobs.enqueue(queue, { n })
          const deadline = Date.now() + 30_000
          while ((yield* Ref.get(seen)).length < 40 && Date.now() < deadline)
            yield* Effect.sleep("100 millis")
          yield* Effect.sleep("1 second")
          const list = yield* Ref.get(seen)
          expect(list.length).toBe(40)
          expect(new Set(list).size).toBe(40)
        })
      )

      // Issue 26: one organisation's backlog waits behind itself. The order in which the worker starts jobs
      // is the mechanism; no clock is read.
      it.scoped(
        "a flooding group's backlog does not hold back another group: its job is taken before the flooder's next",
        () =>
          Effect.gen(function* () {
            const jobs = yield* Jobs
            const queue = queueName("fair")
            const started: Array<string> = []
            const finish = yield* Queue.unbounded<void>()
            yield* Effect.addFinalizer(() =>
              Queue.offerAll(
                finish,
                Array.from({ length: 300 }, () => undefined)
              )
            )
            yield* jobs.work(queue, { ...quick, concurrency: 1, groupConcurrency: 1 }, (payload) =>
              Effect.sync(() => started.push((payload as { name: string }).name)).pipe(
                Effect.zipRight(Queue.take(finish))
              )
            )
            for (let n = 0; n < 150; n++)
              yield* jobs.enqueue(queue, { name: `flood-${n}` }, { group: "org-flooder" })
            yield* waitUntil(() => started.length === 1)
            yield* jobs.enqueue(queue, { name: "victim" }, { group: "org-victim" })
            yield* Queue.offer(finish, undefined)
            yield* waitUntil(() => started.length === 2)
            expect(started).toEqual(["flood-0", "victim"])
            // The flooder's own jobs keep their order behind it.
            yield* Queue.offerAll(finish, [undefined, undefined])
            yield* waitUntil(() => started.length === 4)
            expect(started.slice(2)).toEqual(["flood-1", "flood-2"])
          })
      )

      it.scoped("jobs in flight per group stay within the group's cap while other groups use the rest", () =>
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const queue = queueName("cap")
          const inFlight = new Map<string, number>()
          const most = new Map<string, number>()
          let total = 0
          let finished = 0
          const finish = yield* Queue.unbounded<void>()
          const handler = (payload: unknown) => {
            const group = (payload as { group: string }).group
            return Effect.sync(() => {
              inFlight.set(group, (inFlight.get(group) ?? 0) + 1)
              most.set(group, Math.max(most.get(group) ?? 0, inFlight.get(group)!))
              total++
            }).pipe(
              Effect.zipRight(Queue.take(finish)),
              Effect.ensuring(
                Effect.sync(() => {
                  inFlight.set(group, inFlight.get(group)! - 1)
                  finished++
                })
              )
            )
          }
          yield* Effect.addFinalizer(() =>
            Queue.offerAll(
              finish,
              Array.from({ length: 20 }, () => undefined)
            )
          )
          yield* Effect.addFinalizer(() =>
            Queue.offerAll(
              finish,
              Array.from({ length: 20 }, () => undefined)
            )
          )
          // Two registrations stand for two instances: the cap holds across them.
          yield* jobs.work(queue, { ...quick, concurrency: 3, groupConcurrency: 2 }, handler)
          yield* jobs.work(queue, { ...quick, concurrency: 3, groupConcurrency: 2 }, handler)
          for (let n = 0; n < 10; n++) yield* jobs.enqueue(queue, { group: "a", n }, { group: "a" })
          for (let n = 0; n < 2; n++) yield* jobs.enqueue(queue, { group: "b", n }, { group: "b" })
          yield* waitUntil(() => total >= 4)
          expect(Object.fromEntries(inFlight)).toEqual({ a: 2, b: 2 })
          // One finishes at a time until all twelve have run; the cap holds at every step.
          for (let released = 1; released <= 12; released++) {
            yield* Queue.offer(finish, undefined)
            yield* waitUntil(() => finished === released)
          }
          expect(total).toBe(12)
          expect(Object.fromEntries(most)).toEqual({ a: 2, b: 2 })
        })
      )

      it.scoped("failed jobs page newest first", () =>
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const queue = queueName("pages")
          yield* jobs.work(queue, { ...quick, retryLimit: 0 }, () => Effect.fail(new Error("always")))
          for (let n = 0; n < 3; n++) yield* jobs.enqueue(queue, { n })
          const deadline = Date.now() + 20_000
          let all = yield* jobs.failed(100)
          while (all.filter((job) => job.queue === queue).length < 3 && Date.now() < deadline) {
            yield* Effect.sleep("200 millis")
            all = yield* jobs.failed(100)
          }
          const first = yield* jobs.failed(2)
          const second = yield* jobs.failed(2, first[1])
          expect([...first, ...second].map((job) => job.id)).toEqual(all.slice(0, 4).map((job) => job.id))
          const times = all.map((job) => job.failedAt.getTime())
          expect(times).toEqual([...times].sort((a, b) => b - a))
        })
      )

      it.scoped("schedules are registered by cron expression", () =>
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const queue = queueName("cron")
          yield* jobs.schedule(queue, "*/5 * * * *")
          expect(yield* jobs.schedules).toContainEqual({ queue, cron: "*/5 * * * *" })
        })
      )

      // pg-boss keeps no state of its own here: each ask reaches the database, as another instance's would.
      it.scoped("a scheduled queue's minute is enqueued once, however often it is asked", () =>
        Effect.gen(function* () {
          const jobs = yield* Jobs
          const queue = queueName("due")
          yield* jobs.schedule(queue, "*/5 * * * *")
          const ran = yield* Ref.make(0)
          yield* jobs.work(
            queue,
            { retryLimit: 0, retryDelaySeconds: 1, backoff: false, concurrency: 1 },
            () => Ref.update(ran, (n) => n + 1)
          )
          expect(yield* jobs.enqueueDue(new Date("2026-11-22T10:06:00Z"))).not.toContain(queue)
          const minute = new Date("2026-11-22T10:05:00Z")
          const asked = yield* Effect.all([jobs.enqueueDue(minute), jobs.enqueueDue(minute)], {
            concurrency: "unbounded"
          })
          expect(asked.flat().filter((q) => q === queue)).toEqual([queue])
          // Asked again once the job has run: still not enqueued twice.
          yield* Effect.repeat(Ref.get(ran), {
            until: (n) => n === 1,
            schedule: Schedule.spaced("100 millis")
          })
          expect(yield* jobs.enqueueDue(minute)).not.toContain(queue)
          expect(yield* jobs.enqueueDue(new Date("2026-11-22T10:10:00Z"))).toContain(queue)
          yield* jobs.schedule(queue, "bogus").pipe(Effect.flip)
        })
      )
    })
  })
}

/*
 * The minute ticker waits for a real minute boundary (0-60 s): both implementations wait for the same one
 * side by side, each on its own fresh database, instead of one after the other.
 */
describe("Jobs contract: the minute ticker", () => {
  it.live(
    "enqueues a scheduled queue at the next minute boundary, in each implementation",
    () =>
      Effect.all(
        Object.entries(implementations).map(([name, implementation]) =>
          Effect.gen(function* () {
            const jobs = yield* Jobs
            const queue = queueName("tick")
            const ran = yield* Deferred.make<void>()
            yield* jobs.work(queue, quick, () => Deferred.succeed(ran, undefined))
            yield* jobs.schedule(queue, "* * * * *")
            // Within a minute, plus the time a worker takes to fetch the job.
            yield* Deferred.await(ran).pipe(
              Effect.timeoutFail({ duration: "75 seconds", onTimeout: () => new Error(`${name}: no tick`) })
            )
          }).pipe(Effect.scoped, Effect.provide(implementation as Layer.Layer<Jobs | SqlClient.SqlClient>))
        ),
        { concurrency: "unbounded" }
      ),
    120_000
  )
})

describe("memory queue cron", () => {
  it("enqueues exactly the queues whose expression matches the minute (UTC)", () => {
    const scheduled = new Map([
      ["every-five", "*/5 * * * *"],
      ["nightly", "40 3 * * *"],
      ["hourly", "17 * * * *"]
    ])
    expect(dueQueues(scheduled, new Date("2026-11-22T10:05:00Z"))).toEqual(["every-five"])
    expect(dueQueues(scheduled, new Date("2026-11-22T10:06:00Z"))).toEqual([])
    expect(dueQueues(scheduled, new Date("2026-11-22T03:40:00Z"))).toEqual(["every-five", "nightly"])
    expect(dueQueues(scheduled, new Date("2026-11-22T21:17:00Z"))).toEqual(["hourly"])
  })
})
