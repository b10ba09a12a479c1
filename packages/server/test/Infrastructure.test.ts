import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { encodeCursor } from "../src/Admin/Pagination.js"
import { Audit } from "../src/Audit/Audit.js"
import { Infrastructure } from "../src/Infrastructure/Infrastructure.js"
import { Jobs, jobQueue, workQueue } from "../src/Jobs/Jobs.js"
import { TapStore } from "../src/Taps/TapStore.js"
import {
  failureOf,
  onPrivateRedis,
  PrivateRedis,
  serviceHarness,
  serviceHarnessWith
} from "./support/ServiceHarness.js"
import { tapOf } from "./support/TapFixtures.js"

/*
 * The platform operator's service (issue 13: the logic that lived in the infrastructure handlers), on a real
 * database and the in-memory backends. The HTTP suites keep the authorisation (Authorization.matrix) and the
 * end-to-end redrive and retry (DeadLetters, BackgroundJobs).
 */

const services = Infrastructure.Default.pipe(
  Layer.provideMerge(Layer.merge(Audit.Default, TapStore.Default)),
  Layer.provideMerge(serviceHarness)
)

const auditOf = (action: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ resourceId: string | null; newValues: unknown; organizationId: string | null }>`
      select resource_id, new_values, organization_id from audit_log where action = ${action} order by id`
  )

/** Every page of a list, following its cursors. */
const allPages = <A, E, R>(
  page: (
    cursor: string | undefined
  ) => Effect.Effect<{ items: ReadonlyArray<A>; nextCursor: string | null }, E, R>
) =>
  Effect.gen(function* () {
    const items: Array<A> = []
    let cursor: string | undefined
    do {
      // A cursor that hands a page out again would loop for ever: fail with what was seen instead.
      if (items.length > 100) throw new Error(`pages repeat: ${JSON.stringify(items.slice(0, 12))}`)
      const next = yield* page(cursor)
      items.push(...next.items)
      cursor = next.nextCursor ?? undefined
    } while (cursor !== undefined)
    return items
  })

/** A tap for an organisation that does not exist: a redrive tries it and keeps it, with the reason. */
const nowhere = { orgId: null, orgRef: "slug:nowhere", eventId: null }

const failing = jobQueue("test.always-fails", Schema.Struct({ n: Schema.Number }))

describe("infrastructure service", () => {
  layer(services, { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect("dead letters page by time then id, each once, with microseconds in the column", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const payload = JSON.stringify(tapOf({ orgId: "", eventIds: [] }, "DL", nowhere))
        // Five rows in one microsecond-precise instant, two a second later: ties are broken by id.
        yield* sql`
          insert into tap_dead_letters (tap_id, organization_id, payload, error, dead_lettered_at)
          select 'dl-' || n, null, ${payload}, 'refused', timestamptz '2026-12-01 10:00:00.123456+00'
          from generate_series(1, 5) n`
        yield* sql`
          insert into tap_dead_letters (tap_id, organization_id, payload, error, dead_lettered_at)
          select 'dl-' || n, null, ${payload}, 'refused', timestamptz '2026-12-01 10:00:01.987654+00'
          from generate_series(6, 7) n`
        const infrastructure = yield* Infrastructure

        const listed = yield* allPages((cursor) => infrastructure.deadLetters({ limit: 2, cursor }))
        expect(listed.map((row) => row.tapId)).toEqual([
          "dl-1",
          "dl-2",
          "dl-3",
          "dl-4",
          "dl-5",
          "dl-6",
          "dl-7"
        ])

        // Not a cursor this API returned, and one whose time is no date: 400 (InvalidRequest), not a 500.
        for (const key of ["nonsense", "2026-13-45T99:00:00Z|dl-1", "2026-12-01T10:00:00.123Z|"]) {
          expect(
            yield* failureOf(infrastructure.deadLetters({ limit: 2, cursor: encodeCursor(key) }))
          ).toContain("InvalidRequest")
        }
      })
    )

    it.scoped("failed jobs page newest first; a retry is audited, an unknown job is not found", () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs
        yield* workQueue(
          jobs,
          failing,
          { retryLimit: 0, retryDelaySeconds: 1, backoff: false, concurrency: 1 },
          () => Effect.fail("refused on purpose")
        )
        for (let n = 0; n < 5; n++) yield* jobs.enqueue(failing.name, { n })
        const infrastructure = yield* Infrastructure
        const failedNow = allPages((cursor) => infrastructure.failedJobs({ limit: 2, cursor }))
        let failed = yield* failedNow
        while (failed.length < 5) {
          yield* Effect.yieldNow()
          failed = yield* failedNow
        }
        expect(failed.map((job) => job.payload)).toHaveLength(5)
        expect(new Set(failed.map((job) => job.id)).size).toBe(5)
        const times = failed.map((job) => job.failedAt.epochMillis)
        expect(times).toEqual([...times].sort((a, b) => b - a))

        expect(yield* infrastructure.retryJob(failed[0]!.id)).toEqual({ retried: true })
        expect((yield* auditOf("job.retry")).map((row) => row.resourceId)).toEqual([failed[0]!.id])
        expect(yield* failureOf(infrastructure.retryJob("018f0000-0000-7000-8000-000000000000"))).toContain(
          "NotFound"
        )
        expect(
          yield* failureOf(
            infrastructure.failedJobs({ limit: 2, cursor: encodeCursor("2026-12-01T10:00:00Z|x") })
          )
        ).toContain("InvalidRequest")
      })
    )

    it.effect("a redrive and a rebuild are audited for the platform, with what they did", () =>
      Effect.gen(function* () {
        const tapStore = yield* TapStore
        for (const band of ["R-1", "R-2", "R-3"]) {
          yield* tapStore.deadLetter(tapOf({ orgId: "", eventIds: [] }, band, nowhere), {
            message: "unknown organisation (slug:nowhere)",
            sqlstate: null
          })
        }
        const infrastructure = yield* Infrastructure
        const before = yield* infrastructure.pipeline
        const redriven = yield* infrastructure.redriveDeadLetters(3)
        expect(redriven).toEqual({ tried: 3, stored: 0, stillRefused: 3, remaining: before.deadLetters })
        const [audited] = yield* auditOf("tap.dead_letters.redrive")
        expect(audited).toMatchObject({ organizationId: null, newValues: redriven })

        const rebuilt = yield* infrastructure.rebuildReadModel(false)
        const [rebuild] = yield* auditOf("read_model.rebuild")
        expect(rebuild).toMatchObject({
          organizationId: null,
          newValues: { organizations: rebuilt.organizations, onlyStale: false }
        })
        expect((yield* infrastructure.readModel).stale).toEqual([])
      })
    )
  })
})

/** The same service on Redis backends, over a Redis server of the test's own that it can stop. */
const onRedis = onPrivateRedis((url) =>
  Infrastructure.Default.pipe(
    Layer.provideMerge(Layer.merge(Audit.Default, TapStore.Default)),
    Layer.provideMerge(serviceHarnessWith({ REDIS_URL: url }))
  )
)

describe("infrastructure service on Redis", () => {
  layer(onRedis, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect(
      "pipeline health says which backend failed: Redis stopped → 503 naming redis; back empty → zero consumers",
      () =>
        Effect.gen(function* () {
          const infrastructure = yield* Infrastructure
          const redis = yield* PrivateRedis
          expect(yield* infrastructure.pipeline).toMatchObject({
            deadLetters: 0,
            consumers: expect.any(Number)
          })

          yield* Effect.promise(() => redis.kill())
          const down = yield* Effect.flip(infrastructure.pipeline)
          expect(down).toMatchObject({ _tag: "ServiceUnavailable", checks: { redis: "failing" } })

          yield* Effect.promise(() => redis.start())
          // The client reconnects on its own schedule: the probe answers again once it has.
          let back = yield* Effect.either(infrastructure.pipeline)
          while (back._tag === "Left") {
            yield* Effect.sleep("100 millis")
            back = yield* Effect.either(infrastructure.pipeline)
          }
          // Restarted empty: no stream and no group until taps and a writer return. Said as such, not as failing.
          expect(back.right).toMatchObject({ streamLength: 0, consumers: 0, pending: 0, deadLetters: 0 })
        })
    )
  })
})
