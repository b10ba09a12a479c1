import { SqlClient } from "@effect/sql"
import { type EventId, Tap } from "@tapline/domain"
import { DateTime, Effect, Schema } from "effect"

const encodeTap = Schema.encodeSync(Tap)

/** Column arrays for one unnest insert: one parameter per column, whatever the batch size. */
const columns = (taps: ReadonlyArray<Tap>) => {
  const rows = taps.map((tap) => ({ tap, encoded: encodeTap(tap) }))
  const pick = <A>(f: (row: (typeof rows)[number]) => A) => rows.map(f)
  return {
    id: pick((r) => r.tap.id),
    organizationId: pick((r) => r.tap.organizationId),
    eventId: pick((r) => r.tap.eventId),
    bandId: pick((r) => r.tap.bandId),
    bandUid: pick((r) => r.tap.bandUid),
    windowId: pick((r) => r.tap.windowId),
    mode: pick((r) => r.tap.mode),
    redirectKind: pick((r) => r.tap.redirectKind),
    destinationUrl: pick((r) => r.tap.destinationUrl),
    tappedAt: pick((r) => DateTime.toDateUtc(r.tap.tappedAt)),
    userAgent: pick((r) => r.tap.userAgent),
    clientIp: pick((r) => r.tap.clientIp),
    utmSource: pick((r) => r.encoded.utm.source ?? null),
    utmMedium: pick((r) => r.encoded.utm.medium ?? null),
    utmCampaign: pick((r) => r.encoded.utm.campaign ?? null),
    utmTerm: pick((r) => r.encoded.utm.term ?? null),
    utmContent: pick((r) => r.encoded.utm.content ?? null),
    isBot: pick((r) => r.tap.isBot),
    isDuplicate: pick((r) => r.tap.isDuplicate)
  }
}

export class TapRepository extends Effect.Service<TapRepository>()("@tapline/server/TapRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** Idempotent by (id, tapped_at): a batch delivered twice stores each tap once. Returns rows newly stored. */
    const insertBatch = (taps: ReadonlyArray<Tap>) => {
      if (taps.length === 0) return Effect.succeed(0)
      const c = columns(taps)
      return sql<{ inserted: string }>`
        with added as (
          insert into taps (
            id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind, destination_url,
            tapped_at, user_agent, client_ip, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
            is_bot, is_duplicate)
          select * from unnest(
            ${c.id}::uuid[], ${c.organizationId}::uuid[], ${c.eventId}::uuid[], ${c.bandId}::uuid[],
            ${c.bandUid}::text[], ${c.windowId}::uuid[], ${c.mode}::text[], ${c.redirectKind}::text[],
            ${c.destinationUrl}::text[], ${c.tappedAt}::timestamptz[], ${c.userAgent}::text[], ${c.clientIp}::inet[],
            ${c.utmSource}::text[], ${c.utmMedium}::text[], ${c.utmCampaign}::text[], ${c.utmTerm}::text[],
            ${c.utmContent}::text[], ${c.isBot}::boolean[], ${c.isDuplicate}::boolean[])
          on conflict (id, tapped_at) do nothing
          returning 1
        )
        select count(*) as inserted from added`.pipe(Effect.map((rows) => Number(rows[0]?.inserted ?? 0)))
    }

    const countByEvent = (eventId: EventId) =>
      sql<{ count: string }>`select count(*) as count from taps where event_id = ${eventId}`.pipe(
        Effect.map((rows) => Number(rows[0]?.count ?? 0))
      )

    return { insertBatch, countByEvent } as const
  })
}) {}
