import { describe, expect, it } from "@effect/vitest"
import { startPostgresServer } from "@tapline/testing/postgresServer"
import { Effect, Layer, Logger, Ref, Schedule } from "effect"
import { layerPool } from "../src/Database/Database.js"
import { Jobs } from "../src/Jobs/Jobs.js"
import * as PgBossJobs from "../src/Jobs/PgBossJobs.js"
import { poolOptions } from "./support/TestDatabase.js"

/*
 * The pg-boss queue when its PostgreSQL restarts under it: the due-queue watcher and the idle pollers say
 * so at WARN and keep trying, and jobs enqueued after the restart (here or by another process) run without
 * restarting Tapline. A private
 * server: the machine's PostgreSQL is shared by every parallel test file and is never stopped.
 */

const quick = { retryLimit: 2, retryDelaySeconds: 1, backoff: false, concurrency: 2 }

/** Polls until `check` holds; fails with what it last saw after a generous bound (busy machines). */
const until = <A>(what: string, read: Effect.Effect<A>, check: (a: A) => boolean) =>
  read.pipe(
    Effect.filterOrFail(check, () => new Error(`${what}: not yet`)),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeoutFail({ duration: "90 seconds", onTimeout: () => new Error(`${what}: not in time`) })
  )

describe("job queue across a PostgreSQL restart", () => {
  it.live(
    "warns while PostgreSQL is down, and runs jobs enqueued after it is back",
    () =>
      Effect.gen(function* () {
        const pg = yield* Effect.acquireRelease(
          Effect.promise(() => startPostgresServer()),
          (server) => Effect.promise(() => server.dispose())
        )
        const warnings = yield* Ref.make<ReadonlyArray<string>>([])
        const capture = Logger.make(({ logLevel, message }) => {
          if (logLevel._tag !== "Warning") return
          const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
          Effect.runSync(Ref.update(warnings, (all) => [...all, text]))
        })
        const fresh = () =>
          PgBossJobs.layer({ connectionString: pg.url, ssl: false, poolMax: 4 }).pipe(
            Layer.provide(layerPool(poolOptions(pg.url)))
          )
        const jobs = fresh()

        yield* Effect.gen(function* () {
          const queue = yield* Jobs
          const seen = yield* Ref.make<ReadonlyArray<number>>([])
          yield* queue.work("test.outage", quick, (payload) =>
            Ref.update(seen, (all) => [...all, (payload as { n: number }).n])
          )
          yield* queue.enqueue("test.outage", { n: 1 })
          yield* until("the first job ran", Ref.get(seen), (all) => all.includes(1))

          yield* Effect.promise(() => pg.stop("fast"))
          const said = yield* until("a warning while PostgreSQL is down", Ref.get(warnings), (all) =>
            all.some((text) => text.includes("job queue unreachable; polling again"))
          )
          expect(said.length).toBeGreaterThan(0)

          yield* Effect.promise(() => pg.start())
          // The pools reconnect on their own; an enqueue right after the start may meet a dead connection.
          yield* queue
            .enqueue("test.outage", { n: 2 })
            .pipe(Effect.retry({ schedule: Schedule.spaced("500 millis"), times: 120 }))
          const after = yield* until("the job enqueued after the restart ran", Ref.get(seen), (all) =>
            all.includes(2)
          )
          expect(after).toEqual([1, 2])

          // Enqueued by another process, whose enqueue cannot wake this one's pollers: only the due-queue
          // watcher, which was failing a moment ago, can find it.
          yield* Effect.flatMap(Jobs, (other) => other.enqueue("test.outage", { n: 3 })).pipe(
            Effect.provide(fresh()),
            Effect.scoped
          )
          const last = yield* until("another process's job ran", Ref.get(seen), (all) => all.includes(3))
          expect(last).toEqual([1, 2, 3])
        }).pipe(
          Effect.provide(jobs),
          Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
          Effect.scoped
        )
      }).pipe(Effect.scoped),
    240_000
  )
})
