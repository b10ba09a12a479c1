import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { startPostgresServer } from "@tapline/testing/postgresServer"
import { Context, Effect, Layer } from "effect"
import * as RedisConnection from "../src/Redis/Redis.js"
import { STREAM_KEY } from "../src/Taps/RedisTapKeys.js"
import { WRITER_GROUP as GROUP } from "../src/Taps/TapQueue.js"
import { TapStore } from "../src/Taps/TapStore.js"
import { TapWriterStatus } from "../src/Taps/TapWriterStatus.js"
import { harness, pipelineRedis, request, TAP_DOMAIN, TapServer } from "./support/HotPathHarness.js"
import { show, tapOf, tenant } from "./support/TapFixtures.js"

/*
 * Issue 12, items 2 and 3: one tap PostgreSQL refuses must not stop the pipeline for every tenant, and a
 * PostgreSQL restart must not stop it for good.
 */

const stored = (orgIds: ReadonlyArray<string>) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ n: string; distinct: string }>`
      select count(*) as n, count(distinct id) as distinct from taps where organization_id in ${sql.in(orgIds)}`
  ).pipe(Effect.map((rows) => ({ n: Number(rows[0]?.n), distinct: Number(rows[0]?.distinct) })))

const bandCounts = (orgIds: ReadonlyArray<string>) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ n: string | null }>`
      select sum(tap_count) as n from bands where organization_id in ${sql.in(orgIds)}`
  ).pipe(Effect.map((rows) => Number(rows[0]?.n ?? 0)))

/** Polls until `check` holds; fails the test with the last value after `timeoutMs`. */
const until = <A, E, R>(
  what: string,
  read: Effect.Effect<A, E, R>,
  check: (a: A) => boolean,
  timeoutMs = 60_000
) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    let last: A | undefined
    for (;;) {
      const value = yield* Effect.either(read)
      if (value._tag === "Right") {
        last = value.right
        if (check(value.right)) return value.right
      }
      if (Date.now() > deadline) return yield* Effect.dieMessage(`${what}: last ${JSON.stringify(last)}`)
      yield* Effect.sleep("100 millis")
    }
  })

const pending = Effect.flatMap(RedisConnection.Redis, (client) =>
  Effect.promise(() => client.xpending(STREAM_KEY, GROUP) as Promise<[number, ...Array<unknown>]>)
).pipe(Effect.map((reply) => Number(reply[0])))

describe("poison pills", () => {
  layer(harness(), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("control characters in a tap URL are stripped on the hot path; the tap is stored", () =>
      Effect.gen(function* () {
        const { port } = yield* TapServer
        const t = yield* tenant({ events: [{ windows: show("nul"), bands: ["NUL-1"] }] })
        const host = `${t.slug}.${TAP_DOMAIN}`
        const reply = yield* request(
          port,
          "/e?bandId=NUL-1&utm_source=%00x&utm_medium=a%0D%0Ab&utm_term=%C2%85",
          {
            host,
            headers: { "user-agent": "agent\u0085with C1" }
          }
        )
        expect(reply.status).toBe(302)
        expect(reply.location).toBe("https://example.com/nul/live?utm_source=x&utm_medium=ab&utm_term=")
        const rows = yield* until(
          "the tap is stored",
          Effect.flatMap(
            SqlClient.SqlClient,
            (sql) =>
              sql<{ utmSource: string; utmMedium: string; userAgent: string }>`
              select utm_source, utm_medium, user_agent from taps where organization_id = ${t.orgId}`
          ),
          (rows) => rows.length === 1
        )
        expect(rows[0]).toEqual({ utmSource: "x", utmMedium: "ab", userAgent: "agentwith C1" })
      })
    )

    it.effect(
      "taps PostgreSQL refuses are dead-lettered; the rest of their batch, of every tenant, is stored",
      () =>
        Effect.gen(function* () {
          const client = yield* RedisConnection.Redis
          const taps = yield* TapStore
          const status = yield* TapWriterStatus
          const a = yield* tenant({ events: [{ windows: show("pa"), bands: ["PA-1"] }] })
          const b = yield* tenant({ events: [{ windows: show("pb"), bands: ["PB-1"] }] })
          const deadBefore = yield* taps.deadLetterCount
          const good = Array.from({ length: 60 }, (_, i) =>
            tapOf(i % 2 === 0 ? a : b, i % 2 === 0 ? "PA-1" : "PB-1")
          )
          const poison = [
            tapOf(a, "PA-1", { ua: "nul \u0000 inside" }),
            tapOf(b, "PB-1", { ip: "not-an-address" }),
            tapOf(a, "PA-1", { utm: { source: "x\u0000" } })
          ]
          // One pipeline: the writer reads them as one batch, the refused taps in the middle of it.
          const entries = [...good.slice(0, 30), ...poison, ...good.slice(30)]
          const multi = client.multi()
          for (const tap of entries) multi.xadd(STREAM_KEY, "*", "t", JSON.stringify(tap), "d", "0")
          yield* Effect.promise(() => multi.exec())

          const result = yield* until(
            "the good taps are stored",
            stored([a.orgId, b.orgId]),
            (r) => r.n >= 60
          )
          expect(result).toEqual({ n: 60, distinct: 60 })
          yield* until(
            "the refused taps are dead-lettered",
            taps.deadLetterCount,
            (n) => n === deadBefore + 3
          )
          expect(yield* bandCounts([a.orgId, b.orgId])).toBe(60)
          yield* until("nothing is left pending", pending, (n) => n === 0)
          const sql = yield* SqlClient.SqlClient
          const dead = yield* sql<{ tapId: string; sqlstate: string; error: string; payload: string }>`
          select tap_id, sqlstate, error, payload from tap_dead_letters
          where tap_id in ${sql.in(poison.map((tap) => tap.id))} order by tap_id`
          expect(dead.map((row) => row.tapId)).toEqual(poison.map((tap) => tap.id).sort())
          for (const row of dead) {
            expect(row.sqlstate).toMatch(/^22/)
            expect(row.error.length).toBeGreaterThan(0)
            // The tap is kept whole, to be fixed and redriven.
            expect(JSON.parse(row.payload).id).toBe(row.tapId)
          }
          expect(status.state()).toBe("ok")

          // The stream moves on: a tap after the poison is stored as usual.
          const { port } = yield* TapServer
          yield* request(port, "/e?bandId=PB-1", { host: `${b.slug}.${TAP_DOMAIN}` })
          yield* until("a later tap is stored", stored([b.orgId]), (r) => r.n === 31)
        }).pipe(Effect.provide(Layer.merge(pipelineRedis, TapStore.Default)))
    )
  })
})

/*
 * A private PostgreSQL, stopped under the writer: a fast shutdown ends its sessions mid-transaction, which
 * surfaces as a defect in the writer's fiber. Before the writer was supervised the loops ended there and
 * taps waited in the stream until the process restarted.
 */
const privatePostgres = Layer.unwrapScoped(
  Effect.gen(function* () {
    const pg = yield* Effect.acquireRelease(
      Effect.promise(() => startPostgresServer()),
      (server) => Effect.promise(() => server.dispose())
    )
    return Layer.merge(
      harness({ databaseUrl: pg.url, env: { TAP_WRITER_BATCH: "50" } }),
      Layer.succeed(PrivatePostgres, pg)
    )
  })
)

class PrivatePostgres extends Context.Tag("test/PrivatePostgres")<
  PrivatePostgres,
  Awaited<ReturnType<typeof startPostgresServer>>
>() {}

describe("PostgreSQL outages under the writer", () => {
  layer(privatePostgres, { excludeTestServices: true, timeout: 180_000 })((it) => {
    it.effect(
      "a restart mid-load and a 20 s stop: the writer reports failing, recovers, stores every tap once",
      () =>
        Effect.gen(function* () {
          const pg = yield* PrivatePostgres
          const { port } = yield* TapServer
          const status = yield* TapWriterStatus
          const t = yield* tenant({ events: [{ windows: show("pg"), bands: ["PG-1", "PG-2", "PG-3"] }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          let served = 0
          const tap = (n: number) =>
            request(port, `/e?bandId=PG-${(n % 3) + 1}`, { host }).pipe(
              Effect.tap((reply) =>
                Effect.sync(() => {
                  if (reply.status === 302) served++
                })
              )
            )
          // Constant load from a fiber of its own, 20 taps every 50 ms, until told to stop.
          let load = true
          const loader = yield* Effect.fork(
            Effect.gen(function* () {
              let n = 0
              while (load) {
                yield* Effect.all(
                  Array.from({ length: 20 }, () => tap(n++)),
                  { concurrency: 20 }
                )
                yield* Effect.sleep("50 millis")
              }
            })
          )
          yield* until("some taps are stored", stored([t.orgId]), (r) => r.n > 100)

          // A restart while batches are in flight.
          yield* Effect.promise(() => pg.stop("fast"))
          yield* until(
            "the writer says it cannot write",
            Effect.sync(() => status.state()),
            (s) => s === "failing"
          )
          yield* Effect.promise(() => pg.start())
          yield* until(
            "the writer recovers",
            Effect.sync(() => status.state()),
            (s) => s === "ok"
          )

          // A 20-second stop: the hot path keeps serving from Redis, the writer keeps trying.
          yield* Effect.promise(() => pg.stop("immediate"))
          const stoppedAt = served
          yield* until(
            "the writer says it cannot write",
            Effect.sync(() => status.state()),
            (s) => s === "failing"
          )
          yield* Effect.sleep("20 seconds")
          expect(status.state()).toBe("failing")
          expect(status.snapshot().lastError).not.toBeNull()
          expect(served).toBeGreaterThan(stoppedAt)
          yield* Effect.promise(() => pg.start())

          load = false
          yield* Effect.fromFiber(loader)
          const result = yield* until(
            "every served tap is stored",
            stored([t.orgId]),
            (r) => r.n >= served,
            120_000
          )
          expect(result).toEqual({ n: served, distinct: served })
          expect(yield* bandCounts([t.orgId])).toBe(served)
          // Each loop says it recovered at its next success: the claimer's may be a backoff away.
          yield* until(
            "every writer loop recovers",
            Effect.sync(() => status.state()),
            (s) => s === "ok"
          )
        }),
      180_000
    )
  })
})
