import * as SqlClient from "@effect/sql/SqlClient"
import type { EventId, OrganizationId } from "@tapline/domain"
import { Effect } from "effect"
import type { ValidRow } from "./ImportRows.js"

export interface StoredImport {
  readonly created: number
  readonly updated: number
  /** New bands, for the read model. */
  readonly fresh: ReadonlyArray<{ readonly bandId: string; readonly bandUid: string }>
  /** Band ids back from the trash, for the read model. */
  readonly restored: ReadonlyArray<string>
}

interface Existing {
  readonly bandUid: string
  readonly registrantName: string | null
  readonly registrantEmail: string | null
  readonly trashed: boolean
}

/**
 * Stores the valid rows of an import inside the caller's transaction, which holds the event's row lock so
 * imports into one event take turns. New bands go in with a plain INSERT (ON CONFLICT's speculative
 * insertion doubled the time of a 100 000-band import here); bands that exist are updated only where the
 * registrant changed or they come back from the trash, so importing the same file twice writes nothing.
 * A band the tap writer auto-assigns meanwhile makes the INSERT fail with a unique violation: the caller
 * retries the whole import.
 */
export const storeRows = (organizationId: OrganizationId, eventId: EventId, rows: ReadonlyArray<ValidRow>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // A first import into an event (the usual case) has nothing to compare with: skip the lookup.
    const [{ any } = { any: false }] = yield* sql<{ any: boolean }>`
      select exists (select 1 from bands where event_id = ${eventId}) as any`
    const existing = new Map(
      any
        ? (yield* sql<Existing>`
            select band_uid, registrant_name, registrant_email, deleted_at is not null as trashed from bands
            where event_id = ${eventId} and band_uid = any(${rows.map((row) => row.bandUid)}::text[])`).map(
            (band) => [band.bandUid, band] as const
          )
        : []
    )
    const fresh: Array<ValidRow> = []
    const changed: Array<ValidRow> = []
    const restored: Array<string> = []
    for (const row of rows) {
      const band = existing.get(row.bandUid)
      if (band === undefined) fresh.push(row)
      else if (
        band.trashed ||
        band.registrantName !== row.registrantName ||
        band.registrantEmail !== row.registrantEmail
      ) {
        changed.push(row)
        if (band.trashed) restored.push(row.bandUid)
      }
    }
    const inserted =
      fresh.length === 0
        ? []
        : yield* sql<{ bandId: string; bandUid: string }>`
        insert into bands (organization_id, event_id, band_uid, registrant_name, registrant_email)
        select ${organizationId}, ${eventId}, band_uid, registrant_name, registrant_email
        from unnest(
          ${fresh.map((r) => r.bandUid)}::text[], ${fresh.map((r) => r.registrantName)}::text[],
          ${fresh.map((r) => r.registrantEmail)}::text[]
        ) as i(band_uid, registrant_name, registrant_email)
        returning id as band_id, band_uid`
    if (changed.length > 0) {
      yield* sql`
        update bands b set registrant_name = i.registrant_name, registrant_email = i.registrant_email,
          deleted_at = null, updated_at = now()
        from unnest(
          ${changed.map((r) => r.bandUid)}::text[], ${changed.map((r) => r.registrantName)}::text[],
          ${changed.map((r) => r.registrantEmail)}::text[]
        ) as i(band_uid, registrant_name, registrant_email)
        where b.event_id = ${eventId} and b.band_uid = i.band_uid`
    }
    yield* storeTags(organizationId, eventId, rows)
    return {
      created: fresh.length,
      updated: changed.length,
      fresh: inserted,
      restored
    } satisfies StoredImport
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
    yield* sql`
      insert into band_tags (band_id, tag_id, organization_id)
      select b.id, t.id, ${organizationId}
      from unnest(${pairs.map(([uid]) => uid)}::text[], ${pairs.map(([, tag]) => tag)}::text[]) as p(band_uid, tag)
      join bands b on b.event_id = ${eventId} and b.band_uid = p.band_uid
      join tags t on t.organization_id = ${organizationId} and lower(t.name) = lower(p.tag)
      on conflict do nothing`
  })
