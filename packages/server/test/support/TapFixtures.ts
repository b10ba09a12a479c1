import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { v7 as uuidv7 } from "uuid"
import { Projector } from "../../src/ReadModel/Projector.js"
import type { TapRecord } from "../../src/Taps/TapRecord.js"

let counter = 0

export interface EventSpec {
  readonly name?: string
  readonly status?: "DRAFT" | "ACTIVE" | "COMPLETED" | "CANCELLED"
  readonly scheduleMode?: "scheduled" | "manual"
  /** Index into `windows` of the manually chosen one. */
  readonly manualWindow?: number
  readonly fallbackUrl?: string | null
  readonly assignOnFlag?: boolean
  readonly latitude?: number
  readonly longitude?: number
  /** Offsets from now in milliseconds. */
  readonly startsIn?: number
  readonly endsIn?: number
  readonly windows?: ReadonlyArray<{ type: "PRE" | "LIVE" | "POST"; url: string; from: number; to: number }>
  readonly bands?: ReadonlyArray<string>
  readonly flagged?: ReadonlyArray<string>
}

export interface Tenant {
  readonly orgId: string
  readonly slug: string
  readonly eventIds: ReadonlyArray<string>
}

const HOUR = 3_600_000

/** The usual show: PRE before now, LIVE around now, POST after. */
export const show = (prefix: string): NonNullable<EventSpec["windows"]> => [
  { type: "PRE", url: `https://example.com/${prefix}/pre`, from: -2 * HOUR, to: -HOUR },
  { type: "LIVE", url: `https://example.com/${prefix}/live`, from: -HOUR, to: HOUR },
  { type: "POST", url: `https://example.com/${prefix}/post`, from: HOUR, to: 2 * HOUR }
]

/** Writes a tenant to PostgreSQL and projects it, as an admin request would. */
export const tenant = (spec: {
  readonly website?: string | null | undefined
  readonly events: ReadonlyArray<EventSpec>
}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const projector = yield* Projector
    const slug = `t${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`
    const website = spec.website === undefined ? `https://${slug}.example/` : spec.website
    const [org] = yield* sql<{ id: string }>`
      insert into organizations (slug, name, website_url) values (${slug}, ${slug}, ${website}) returning id`
    const orgId = org!.id
    const eventIds: Array<string> = []
    const uids = new Set<string>()
    for (const [index, event] of spec.events.entries()) {
      const [row] = yield* sql<{ id: string }>`
        insert into events (organization_id, name, status, schedule_mode, fallback_url, assign_on_flag, latitude,
          longitude, starts_at, ends_at)
        values (${orgId}, ${event.name ?? `event ${index}`}, ${event.status ?? "ACTIVE"},
          ${event.scheduleMode ?? "scheduled"},
          ${event.fallbackUrl === undefined ? `https://example.com/${slug}/fallback-${index}` : event.fallbackUrl},
          ${event.assignOnFlag ?? false}, ${event.latitude ?? 48.8566}, ${event.longitude ?? 2.3522},
          ${new Date(Date.now() + (event.startsIn ?? -2 * HOUR))}, ${new Date(Date.now() + (event.endsIn ?? 2 * HOUR))})
        returning id`
      const eventId = row!.id
      eventIds.push(eventId)
      const windowIds: Array<string> = []
      for (const window of event.windows ?? []) {
        const [w] = yield* sql<{ id: string }>`
          insert into windows (organization_id, event_id, type, url, starts_at, ends_at)
          values (${orgId}, ${eventId}, ${window.type}, ${window.url}, ${new Date(Date.now() + window.from)},
            ${new Date(Date.now() + window.to)})
          returning id`
        windowIds.push(w!.id)
      }
      if (event.manualWindow !== undefined) {
        yield* sql`update events set manual_window_id = ${windowIds[event.manualWindow]!} where id = ${eventId}`
      }
      for (const uid of event.bands ?? []) {
        uids.add(uid)
        yield* sql`
          insert into bands (organization_id, event_id, band_uid, flagged)
          values (${orgId}, ${eventId}, ${uid}, ${(event.flagged ?? []).includes(uid)})`
      }
    }
    yield* projector.organization(orgId)
    if (uids.size > 0) yield* projector.bands(orgId, [...uids])
    return { orgId, slug, eventIds } satisfies Tenant
  })

/** A tap as the hot path would hand it over, for a tenant's first event; `overrides` for the case at hand. */
export const tapOf = (
  t: { readonly orgId: string; readonly eventIds: ReadonlyArray<string> },
  bandUid: string,
  overrides: Partial<TapRecord> = {}
): TapRecord => ({
  id: uuidv7(),
  orgId: t.orgId,
  eventId: t.eventIds[0]!,
  bandId: null,
  bandUid,
  windowId: null,
  mode: "LIVE",
  kind: "FALLBACK",
  url: "https://example.com/",
  at: Date.now(),
  ua: "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
  ip: null,
  utm: null,
  bot: false,
  dup: false,
  assign: null,
  ...overrides
})

/**
 * Waits, if need be, until a minute has at least `seconds` left: counters read back by "this minute" would
 * otherwise see a tap recorded in a minute's last seconds as the next minute's zero.
 */
export const clearOfMinuteEnd = (seconds = 15) =>
  Effect.gen(function* () {
    while (new Date().getSeconds() >= 60 - seconds) yield* Effect.sleep("250 millis")
  })
