import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { DEMO_BAND_COUNT, seedDemo } from "../src/Demo/DemoSeed.js"
import { MigratedDatabase } from "./support/TestDatabase.js"

describe("demo seed", () => {
  layer(MigratedDatabase, { excludeTestServices: true })((it) => {
    it.effect("creates the demo organisation, an ACTIVE event around now and 1000 bands, idempotently", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const first = yield* seedDemo
        const second = yield* seedDemo
        expect(second).toEqual(first)
        expect(first.bandCount).toBe(DEMO_BAND_COUNT)

        const [org] = yield* sql<{ slug: string; websiteUrl: string }>`
          select slug, website_url from organizations where id = ${first.organizationId}`
        expect(org).toEqual({ slug: "demo", websiteUrl: "https://example.com/demo" })

        const [event] = yield* sql<{ status: string }>`select status from events where id = ${first.eventId}`
        expect(event?.status).toBe("ACTIVE")

        const windows = yield* sql<{ type: string; current: boolean; past: boolean; future: boolean }>`
          select type, starts_at <= now() and now() < ends_at as current, ends_at <= now() as past,
            starts_at > now() as future
          from windows where event_id = ${first.eventId} order by starts_at`
        expect(windows).toEqual([
          { type: "PRE", current: false, past: true, future: false },
          { type: "LIVE", current: true, past: false, future: false },
          { type: "POST", current: false, past: false, future: true }
        ])

        const bands = yield* sql<{ bandUid: string }>`
          select band_uid from bands where event_id = ${first.eventId} order by band_uid`
        expect(bands.length).toBe(1000)
        expect(bands[0]?.bandUid).toBe("DEMO-0001")
        expect(bands[999]?.bandUid).toBe("DEMO-1000")

        const audit = yield* sql<{ count: string }>`
          select count(*) as count from audit_log where action = 'demo.seed' and resource_id = ${first.eventId}`
        expect(Number(audit[0]?.count)).toBe(2)
      })
    )
  })
})
