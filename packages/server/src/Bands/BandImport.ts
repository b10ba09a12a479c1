import { SqlClient } from "@effect/sql"
import type { EventId, OrganizationId } from "@tapline/domain"
import { Effect } from "effect"
import type { ValidRow } from "./ImportRows.js"

const CHUNK = 20_000

export interface StoredImport {
  readonly created: number
  readonly updated: number
  /** Band ids the read model must learn: new bands and bands back from the trash. */
  readonly projected: ReadonlyArray<string>
}

/**
 * Upserts the valid rows of an import in chunks of `unnest` arrays, inside the caller's transaction. A row
 * whose band exists with the same registrant is left untouched (and counted unchanged), so importing the
 * same file twice writes nothing the second time.
 */
export const storeRows = (organizationId: OrganizationId, eventId: EventId, rows: ReadonlyArray<ValidRow>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    let created = 0
    let updated = 0
    const projected: Array<string> = []
    for (let start = 0; start < rows.length; start += CHUNK) {
      const chunk = rows.slice(start, start + CHUNK)
      const result = yield* sql<{ bandUid: string; created: boolean; restored: boolean }>`
        with input as (
          select * from unnest(
            ${chunk.map((r) => r.bandUid)}::text[],
            ${chunk.map((r) => r.registrantName)}::text[],
            ${chunk.map((r) => r.registrantEmail)}::text[]
          ) as i(band_uid, registrant_name, registrant_email)
        ),
        previous as (
          select b.band_uid, b.deleted_at is not null as was_deleted from bands b
          join input i on i.band_uid = b.band_uid where b.event_id = ${eventId}
        )
        insert into bands as b (organization_id, event_id, band_uid, registrant_name, registrant_email)
        select ${organizationId}, ${eventId}, band_uid, registrant_name, registrant_email from input
        on conflict (event_id, band_uid) do update set
          registrant_name = excluded.registrant_name,
          registrant_email = excluded.registrant_email,
          deleted_at = null,
          updated_at = now()
        where (b.registrant_name, b.registrant_email, b.deleted_at)
          is distinct from (excluded.registrant_name, excluded.registrant_email, null)
        returning b.band_uid, (xmax = 0) as created,
          coalesce((select was_deleted from previous p where p.band_uid = b.band_uid), false) as restored`
      for (const row of result) {
        if (row.created) created++
        else updated++
        if (row.created || row.restored) projected.push(row.bandUid)
      }
    }
    yield* storeTags(organizationId, eventId, rows)
    return { created, updated, projected } satisfies StoredImport
  })

/** Tags named in the import: unknown names are created, then linked to the bands (existing links stay). */
const storeTags = (organizationId: OrganizationId, eventId: EventId, rows: ReadonlyArray<ValidRow>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const pairs = rows.flatMap((row) => row.tags.map((tag) => [row.bandUid, tag] as const))
    if (pairs.length === 0) return
    const names = [...new Set(pairs.map(([, tag]) => tag))]
    yield* sql`
      insert into tags (organization_id, name)
      select ${organizationId}, name from unnest(${names}::text[]) as n(name)
      on conflict (organization_id, lower(name)) do nothing`
    for (let start = 0; start < pairs.length; start += CHUNK) {
      const chunk = pairs.slice(start, start + CHUNK)
      yield* sql`
        insert into band_tags (band_id, tag_id, organization_id)
        select b.id, t.id, ${organizationId}
        from unnest(${chunk.map(([uid]) => uid)}::text[], ${chunk.map(([, tag]) => tag)}::text[]) as p(band_uid, tag)
        join bands b on b.event_id = ${eventId} and b.band_uid = p.band_uid
        join tags t on t.organization_id = ${organizationId} and lower(t.name) = lower(p.tag)
        on conflict do nothing`
    }
  })
