import * as SqlClient from "@effect/sql/SqlClient"
import type { ReportBody } from "@tapline/domain"
import { Effect } from "effect"

/*
 * The figures of a report, read from the raw taps (the rollups keep no band per tap, and a report is a handful
 * of queries, not a dashboard). As Analytics counts them: a tap by a person is `not is_bot`; a repeat of a
 * band's tap within TAP_DUPLICATE_INTERVAL is `is_duplicate` (set when the tap was written), and counts
 * once. The selection: within a kind, any listed id; across kinds, all of them (the VIP tag's bands, during
 * the sponsor's window). A kind left empty does not narrow.
 */

export interface Selection {
  readonly organizationId: string
  readonly bandIds: ReadonlyArray<string>
  readonly tagIds: ReadonlyArray<string>
  readonly windowIds: ReadonlyArray<string>
  readonly from: Date
  readonly to: Date
}

type Figures = ReportBody["figures"]

const count = (value: string | number | null | undefined) => Number(value ?? 0)

export const computeFigures = (selection: Selection) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const bands = [...selection.bandIds]
    const tags = [...selection.tagIds]
    const windows = [...selection.windowIds]
    const selected = sql`
      select t.band_id, t.band_uid, t.window_id, t.is_bot, t.is_duplicate from taps t
      where t.organization_id = ${selection.organizationId}
        and t.tapped_at >= ${selection.from} and t.tapped_at < ${selection.to}
        and (cardinality(${bands}::uuid[]) = 0 or t.band_id = any(${bands}::uuid[]))
        and (cardinality(${windows}::uuid[]) = 0 or t.window_id = any(${windows}::uuid[]))
        and (cardinality(${tags}::uuid[]) = 0 or exists (
          select 1 from band_tags bt where bt.band_id = t.band_id and bt.tag_id = any(${tags}::uuid[])))`
    // A band is its row; a tap by a band not (yet) in any event has its uid only.
    const counted = sql`not s.is_bot and not s.is_duplicate`
    const bandKey = sql`coalesce(s.band_id::text, s.band_uid)`

    const [totals] = yield* sql<{
      taps: string
      uniqueBands: string
      botTaps: string
      duplicateTaps: string
    }>`
      select count(*) filter (where ${counted}) as taps,
        count(distinct ${bandKey}) filter (where ${counted}) as unique_bands,
        count(*) filter (where s.is_bot) as bot_taps,
        count(*) filter (where s.is_duplicate and not s.is_bot) as duplicate_taps
      from (${selected}) s`

    // The selected windows (with zeros), and any other window the selected taps were served in.
    const byWindow = yield* sql<{
      windowId: string
      eventId: string
      type: string
      title: string
      taps: string
      uniqueBands: string
    }>`
      with s as (${selected})
      select w.id as window_id, w.event_id, w.type, w.title,
        count(s.window_id) filter (where ${counted}) as taps,
        count(distinct ${bandKey}) filter (where ${counted}) as unique_bands
      from windows w left join s on s.window_id = w.id
      where w.organization_id = ${selection.organizationId}
        and (w.id = any(${windows}::uuid[]) or w.id in (select window_id from s where window_id is not null))
      group by w.id order by w.starts_at, w.id`

    const byTag = yield* sql<{ tagId: string; name: string; taps: string; uniqueBands: string }>`
      with s as (${selected})
      select g.id as tag_id, g.name,
        count(s.band_id) filter (where ${counted}) as taps,
        count(distinct ${bandKey}) filter (where ${counted}) as unique_bands
      from tags g
        left join band_tags bt on bt.tag_id = g.id
        left join s on s.band_id = bt.band_id
      where g.organization_id = ${selection.organizationId} and g.id = any(${tags}::uuid[])
      group by g.id order by lower(g.name), g.id`

    const byBand = yield* sql<{ bandId: string; bandUid: string; taps: string }>`
      with s as (${selected})
      select b.id as band_id, b.band_uid, count(s.band_id) filter (where ${counted}) as taps
      from bands b left join s on s.band_id = b.id
      where b.organization_id = ${selection.organizationId} and b.id = any(${bands}::uuid[])
      group by b.id order by b.band_uid, b.id`

    return {
      taps: count(totals?.taps),
      uniqueBands: count(totals?.uniqueBands),
      excluded: { botTaps: count(totals?.botTaps), duplicateTaps: count(totals?.duplicateTaps) },
      windows: byWindow.map((w) => ({
        windowId: w.windowId,
        eventId: w.eventId,
        type: w.type,
        title: w.title,
        taps: count(w.taps),
        uniqueBands: count(w.uniqueBands)
      })),
      tags: byTag.map((t) => ({
        tagId: t.tagId,
        name: t.name,
        taps: count(t.taps),
        uniqueBands: count(t.uniqueBands)
      })),
      bands: byBand.map((b) => ({ bandId: b.bandId, bandUid: b.bandUid, taps: count(b.taps) }))
    } satisfies Figures
  })

/** Fields an entry's old and new values differ in (all of the new ones for a creation); bookkeeping apart. */
const BOOKKEEPING = new Set(["id", "organizationId", "createdAt", "updatedAt"])
export const changedFields = (oldValues: unknown, newValues: unknown): ReadonlyArray<string> => {
  const before = (oldValues ?? {}) as Record<string, unknown>
  const after = (newValues ?? {}) as Record<string, unknown>
  const keys = new Set([...Object.keys(before), ...Object.keys(after)])
  return [...keys]
    .filter((key) => !BOOKKEEPING.has(key) && JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .sort()
}

/** The activation's audit trail: every recorded change to it, oldest first. */
export const auditTrail = (organizationId: string, activationId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{
      occurredAt: Date
      actorType: string
      actorId: string | null
      action: string
      oldValues: unknown
      newValues: unknown
    }>`
      select occurred_at, actor_type, actor_id, action, old_values, new_values from audit_log
      where organization_id = ${organizationId} and resource_type = 'activation' and resource_id = ${activationId}
      order by occurred_at, id`
    return rows.map((row) => ({
      at: row.occurredAt.toISOString(),
      actor: { type: row.actorType, id: row.actorId },
      action: row.action,
      changed: [...changedFields(row.oldValues, row.newValues)]
    }))
  })
