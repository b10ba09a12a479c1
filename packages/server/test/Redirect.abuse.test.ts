import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { TapRecorder } from "../src/Taps/TapRecorder.js"
import { eventually, harness, request, TAP_DOMAIN, TapServer } from "./support/HotPathHarness.js"
import { show, tenant } from "./support/TapFixtures.js"

const limited = harness({
  writer: false,
  env: { TAP_RATE_LIMIT_PER_MINUTE: "40", TAP_UNKNOWN_BAND_LIMIT_PER_MINUTE: "5", TAP_BUFFER_MAX: "1000000" }
})

describe("per-client limits on /e", () => {
  layer(limited, { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect(
      "enumerating unknown band ids is cut off after the unknown-band limit, known bands still redirect",
      () =>
        Effect.gen(function* () {
          const { port } = yield* TapServer
          const t = yield* tenant({ events: [{ windows: show("r"), bands: ["KNOWN-R"] }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          const client = { "x-forwarded-for": "198.51.100.10" }
          const statuses: Array<number> = []
          for (let i = 0; i < 8; i++) {
            statuses.push((yield* request(port, `/e?bandId=GUESS-${i}`, { host, headers: client })).status)
          }
          expect(statuses).toEqual([302, 302, 302, 302, 302, 429, 429, 429])
          const limited = yield* request(port, "/e?bandId=GUESS-99", { host, headers: client })
          expect(limited.headers["retry-after"]).toBe("60")
          expect(limited.location).toBeUndefined()
          // The same client's known band is not an enumeration.
          expect((yield* request(port, "/e?bandId=KNOWN-R", { host, headers: client })).status).toBe(302)
          // Another client is not affected.
          const other = yield* request(port, "/e?bandId=GUESS-0", {
            host,
            headers: { "x-forwarded-for": "198.51.100.11" }
          })
          expect(other.status).toBe(302)
        })
    )

    it.effect("a client over the request limit gets 429 until the minute turns", () =>
      Effect.gen(function* () {
        const { port } = yield* TapServer
        const t = yield* tenant({ events: [{ windows: show("q"), bands: ["KNOWN-Q"] }] })
        const host = `${t.slug}.${TAP_DOMAIN}`
        const client = { "x-forwarded-for": "198.51.100.20" }
        let ok = 0
        let limited = 0
        for (let i = 0; i < 45; i++) {
          const status = (yield* request(port, "/e?bandId=KNOWN-Q", { host, headers: client })).status
          if (status === 302) ok++
          if (status === 429) limited++
        }
        // 40 a minute; a minute boundary during the loop may allow a few more, never fewer.
        expect(ok).toBeGreaterThanOrEqual(40)
        expect(ok + limited).toBe(45)
        expect(limited).toBeGreaterThanOrEqual(ok === 40 ? 5 : 0)
      })
    )
  })
})

describe("tap buffer bound", () => {
  layer(harness({ env: { TAP_BUFFER_MAX: "3", TAP_APPEND_BATCH: "1" } }), {
    excludeTestServices: true,
    timeout: 60_000
  })((it) => {
    it.effect("a full buffer leaves the taps to the journal: every one is stored, none twice", () =>
      Effect.gen(function* () {
        const { port } = yield* TapServer
        const recorder = yield* TapRecorder
        const t = yield* tenant({ events: [{ windows: show("o"), bands: ["OVER-1"] }] })
        const host = `${t.slug}.${TAP_DOMAIN}`
        const responses = yield* Effect.all(
          Array.from({ length: 200 }, () => request(port, "/e?bandId=OVER-1", { host })),
          { concurrency: 50 }
        )
        expect(responses.every((r) => r.status === 302)).toBe(true)
        // Before the journal these were dropped (counted, but lost).
        expect(recorder.stats().overflowed).toBeGreaterThan(0)
        const stored = yield* eventually(
          Effect.flatMap(
            SqlClient.SqlClient,
            (sql) =>
              sql<{ n: string; distinct: string }>`
              select count(*) as n, count(distinct id) as distinct from taps where organization_id = ${t.orgId}`
          ),
          (rows) => Number(rows[0]?.n) >= 200,
          30_000
        )
        expect(stored[0]).toEqual({ n: "200", distinct: "200" })
        expect(recorder.stats().dropped).toBe(0)
      })
    )
  })
})
