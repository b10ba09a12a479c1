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
  readonly name: string | null
  readonly email: string | null
  readonly phone: string | null
  readonly locale: string | null
  readonly consentEmail: boolean | null
  readonly consentSms: boolean | null
  readonly trashed: boolean
}

/** The consents a row gives that differ from the band's registrant's latest ones (none: nothing to append). */
const newConsents = (row: ValidRow, band: Existing | undefined) => {
  const consents: Array<{ readonly channel: "email" | "sms"; readonly granted: boolean }> = []
  if (row.consentEmail !== null && row.consentEmail !== band?.consentEmail)
    consents.push({ channel: "email", granted: row.consentEmail })
  if (row.consentSms !== null && row.consentSms !== band?.consentSms)
    consents.push({ channel: "sms", granted: row.consentSms })
  return consents
}

const hasPerson = (row: ValidRow) =>
  row.registrantName !== null || row.registrantEmail !== null || row.phone !== null || row.locale !== null

const samePerson = (row: ValidRow, band: Existing) =>
  band.name === row.registrantName &&
  band.email === row.registrantEmail &&
  band.phone === row.phone &&
  band.locale === row.locale

/**
 * Stores the valid rows of an import inside the caller's transaction, which holds the event's row lock so
 * imports into one event take turns. New bands go in with a plain INSERT (ON CONFLICT's speculative
 * insertion doubled the time of a 100 000-band import here); bands that exist are updated only where the
 * registrant (or a consent) changed or they come back from the trash, so importing the same file twice writes
 * nothing. The registrant goes to `registrants` (0022), consents are appended to its history with the row's
 * wording. A band the tap writer auto-assigns meanwhile makes the INSERT fail with a unique violation: the
 * caller retries the whole import.
 */
export const storeRows = (organizationId: OrganizationId, eventId: EventId, rows: ReadonlyArray<ValidRow>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // A first import into an event (the usual case) has nothing to compare with: skip the lookup.
    const [{ any } = { any: false }] = yield* sql<{ any: boolean }>`
      select exists (select 1 from bands where event_id = ${eventId}) as any`
    const latest = (channel: string) => sql`(select c.granted from registrant_consents c
      where c.registrant_id = r.id and c.channel = ${channel} order by c.seq desc limit 1)`
    const existing = new Map(
      any
        ? (yield* sql<Existing>`
            select b.band_uid, r.name, r.email, r.phone, r.locale, b.deleted_at is not null as trashed,
              ${latest("email")} as consent_email, ${latest("sms")} as consent_sms
            from bands b left join registrants r on r.band_id = b.id
            where b.event_id = ${eventId} and b.band_uid = any(${rows.map((row) => row.bandUid)}::text[])`).map(
            (band) => [band.bandUid, band] as const
          )
        : []
    )
    const fresh: Array<ValidRow> = []
    const changed: Array<ValidRow> = []
    const restored: Array<string> = []
    const people: Array<ValidRow> = []
    const consents: Array<{ bandUid: string; channel: string; granted: boolean; wording: string | null }> = []
    for (const row of rows) {
      const band = existing.get(row.bandUid)
      const given = newConsents(row, band)
      for (const consent of given)
        consents.push({ bandUid: row.bandUid, ...consent, wording: row.consentWording })
      if (band === undefined) {
        fresh.push(row)
        if (hasPerson(row) || given.length > 0) people.push(row)
      } else if (band.trashed || !samePerson(row, band) || given.length > 0) {
        changed.push(row)
        people.push(row)
        if (band.trashed) restored.push(row.bandUid)
      }
    }
    const inserted =
      fresh.length === 0
        ? []
        : yield* sql<{ bandId: string; bandUid: string }>`
        insert into bands (organization_id, event_id, band_uid)
        select ${organizationId}, ${eventId}, band_uid from unnest(${fresh.map((r) => r.bandUid)}::text[]) as band_uid
        returning id as band_id, band_uid`
    if (restored.length > 0) {
      yield* sql`update bands set deleted_at = null, updated_at = now()
        where event_id = ${eventId} and band_uid = any(${restored}::text[])`
    }
    if (people.length > 0) {
      yield* sql`
        insert into registrants (organization_id, band_id, name, email, phone, locale, source)
        select ${organizationId}, b.id, i.name, i.email, i.phone, i.locale, 'import'
        from unnest(
          ${people.map((r) => r.bandUid)}::text[], ${people.map((r) => r.registrantName)}::text[],
          ${people.map((r) => r.registrantEmail)}::text[], ${people.map((r) => r.phone)}::text[],
          ${people.map((r) => r.locale)}::text[]
        ) as i(band_uid, name, email, phone, locale)
        join bands b on b.event_id = ${eventId} and b.band_uid = i.band_uid
        on conflict (band_id) do update set name = excluded.name, email = excluded.email, phone = excluded.phone,
          locale = excluded.locale, updated_at = now()`
    }
    if (consents.length > 0) {
      yield* sql`
        insert into registrant_consents (registrant_id, channel, granted, at, source, wording)
        select r.id, i.channel, i.granted, now(), 'import', i.wording
        from unnest(
          ${consents.map((c) => c.bandUid)}::text[], ${consents.map((c) => c.channel)}::text[],
          ${consents.map((c) => c.granted)}::boolean[], ${consents.map((c) => c.wording)}::text[]
        ) as i(band_uid, channel, granted, wording)
        join bands b on b.event_id = ${eventId} and b.band_uid = i.band_uid
        join registrants r on r.band_id = b.id`
    }
    if (changed.length > 0) {
      // A row that cleared every field leaves no registrant behind (unless a consent is on record).
      yield* sql`
        delete from registrants r using bands b
        where b.id = r.band_id and b.event_id = ${eventId} and b.band_uid = any(${changed.map((r) => r.bandUid)}::text[])
          and r.name is null and r.email is null and r.phone is null
          and not exists (select 1 from registrant_consents c where c.registrant_id = r.id)`
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
