import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { startRedisServer } from "@tapline/testing/redisServer"
import { Context, Effect, Layer } from "effect"
import { TapStore } from "../src/Taps/TapStore.js"
import { eventually, harness, request, TAP_DOMAIN, TapServer } from "./support/HotPathHarness.js"

/*
 * docs/runbook.md, "Replaying the spool" and "Redriving dead letters", as they happen: taps served while
 * Redis is down go to the journal and reach the stream once it is back; a tap for an organisation that does
 * not exist yet is kept aside, and stored by a redrive once the organisation is created.
 */

class PrivateRedis extends Context.Tag("test/PrivateRedis")<
  PrivateRedis,
  Awaited<ReturnType<typeof startRedisServer>>
>() {}

const withRedis = Layer.unwrapScoped(
  Effect.gen(function* () {
    const redis = yield* Effect.acquireRelease(
      Effect.promise(() => startRedisServer()),
      (server) => Effect.promise(() => server.dispose())
    )
    return Layer.merge(harness({ env: { REDIS_URL: redis.url } }), Layer.succeed(PrivateRedis, redis))
  })
)

const deadLetters = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ payload: string; error: string }>`select payload, error from tap_dead_letters`
)

describe("the spool and the dead letters", () => {
  layer(withRedis, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect(
      "a tap served while Redis is down is replayed; one for an unknown organisation is redriven",
      () =>
        Effect.gen(function* () {
          const redis = yield* PrivateRedis
          const { port } = yield* TapServer
          const slug = `late${Math.random().toString(36).slice(2, 8)}`
          yield* Effect.promise(() => redis.kill())
          // Nobody can tell the organisation: the attendee goes to the default URL, the tap to the journal.
          const served = yield* request(port, "/e?bandId=LATE-1", { host: `${slug}.${TAP_DOMAIN}` })
          expect(served.status).toBe(302)
          yield* Effect.promise(() => redis.start())

          // Replayed from the journal into the stream, read by the writer, kept aside: no such organisation.
          const kept = yield* eventually(deadLetters, (rows) => rows.length === 1, 60_000)
          expect(JSON.parse(kept[0]!.payload)).toMatchObject({ bandUid: "LATE-1", orgRef: `slug:${slug}` })
          expect(kept[0]!.error).toContain(`unknown organisation (slug:${slug})`)

          const store = yield* Effect.provide(TapStore, TapStore.Default)
          // Redriven before the cause is fixed: still refused, still kept, with the reason.
          expect(yield* store.redrive(100)).toMatchObject({ tried: 1, stored: 0, stillRefused: 1 })

          const sql = yield* SqlClient.SqlClient
          const [org] = yield* sql<{ id: string }>`
          insert into organizations (slug, name) values (${slug}, 'Late') returning id`
          expect(yield* store.redrive(100)).toMatchObject({ tried: 1, stored: 1, stillRefused: 0 })
          expect(yield* deadLetters).toEqual([])
          const stored = yield* sql<{ bandUid: string }>`
          select band_uid from taps where organization_id = ${org!.id}`
          expect(stored).toEqual([{ bandUid: "LATE-1" }])
          // A second redrive finds nothing to do.
          expect(yield* store.redrive(100)).toMatchObject({ tried: 0, stored: 0 })
        })
    )
  })
})
