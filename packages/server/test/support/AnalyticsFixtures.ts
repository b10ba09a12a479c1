import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { rollupDirtyHours } from "../../src/Analytics/Rollups.js"
import type { TapRecord } from "../../src/Taps/TapRecord.js"
import { TapStore } from "../../src/Taps/TapStore.js"
import { call, ok, type Tenant } from "./AdminClient.js"
import { tapOf } from "./TapFixtures.js"

/*
 * Analytics tests' fixtures: an event made through the API with its bands, taps of those bands as the hot path
 * records them, stored and rolled up as the writer and the rollup job do.
 */

/** Stores taps as the writer does, then rolls up every dirty hour as the rollup job does. */
export const storeAndRollUp = (taps: ReadonlyArray<TapRecord>) =>
  Effect.gen(function* () {
    yield* (yield* TapStore).store(taps)
    while ((yield* rollupDirtyHours()) > 0) {}
  })

/** An event of the tenant through the API, with its bands; `bandId(uid)` for the taps. */
export const eventWith = (
  tenant: Tenant,
  spec: { timezone: string; bands: ReadonlyArray<string>; campaignId?: string; name?: string }
) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const org = `/api/v1/organizations/${tenant.orgId}`
    const event = yield* ok(
      yield* call("POST", `${org}/events`, {
        key: tenant.keys.EDITOR,
        body: {
          name: spec.name ?? "Show",
          timezone: spec.timezone,
          ...(spec.campaignId === undefined ? {} : { campaignId: spec.campaignId })
        }
      }),
      201,
      "create event"
    )
    const eventId = event.body.id as string
    const imported = yield* call("POST", `${org}/events/${eventId}/bands/import`, {
      key: tenant.keys.EDITOR,
      body: { bands: spec.bands.map((bandUid) => ({ bandUid })) }
    })
    if (imported.status >= 300) return yield* Effect.dieMessage(`import bands: ${imported.text}`)
    const rows = yield* sql<{ id: string; bandUid: string }>`
      select id, band_uid from bands where event_id = ${eventId}`
    const tap = (uid: string, at: number, extra: Partial<TapRecord> = {}) =>
      tapOf({ orgId: tenant.orgId, eventIds: [eventId] }, uid, {
        bandId: rows.find((row) => row.bandUid === uid)!.id,
        at,
        ...extra
      })
    return { eventId, tap }
  })
