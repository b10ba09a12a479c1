import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type { Fragment } from "@effect/sql/Statement"
import {
  type BandId,
  Consent,
  type ConsentChannel,
  type ConsentSource,
  type EventId,
  OrganizationId,
  Registrant,
  RegistrantId
} from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"

/** A registrant as PostgreSQL returns it: its band's id and event, and the latest consent per channel. */
export const RegistrantRow = Schema.Struct({
  ...Registrant.fields,
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf
})
export type RegistrantRow = typeof RegistrantRow.Type

/** The columns a write may set; absent ones stay as they are. */
export type RegistrantColumns = {
  readonly name?: string | null
  readonly email?: string | null
  readonly phone?: string | null
  readonly locale?: string | null
}

export interface NewConsent {
  readonly channel: ConsentChannel
  readonly granted: boolean
  readonly at: Date
  readonly wording: string | null
}

export interface RegistrantQuery {
  readonly eventId?: EventId | undefined
  readonly bandUid?: string | undefined
  readonly q?: string | undefined
  readonly consent?: ConsentChannel | undefined
  readonly after: string | null
  readonly limit: number
}

const consentJson = (sql: SqlClient.SqlClient, alias: string) => sql`jsonb_build_object(
  'channel', ${sql(alias)}.channel, 'granted', ${sql(alias)}.granted, 'at', ${sql(alias)}.at,
  'source', ${sql(alias)}.source, 'wording', ${sql(alias)}.wording, 'recordedAt', ${sql(alias)}.recorded_at)`

/**
 * The only SQL on `registrants` and `registrant_consents`. Reads name the organisation; writes take a row the
 * caller found in it (or a band it holds).
 */
export class RegistrantRepository extends Effect.Service<RegistrantRepository>()(
  "@tapline/server/RegistrantRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const view = sql`
        select r.id, r.organization_id, r.band_id, b.band_uid, b.event_id, r.name, r.email, r.phone, r.locale,
          r.source, r.created_at, r.updated_at,
          coalesce((select jsonb_agg(${consentJson(sql, "c")} order by c.channel) from (
            select distinct on (channel) * from registrant_consents where registrant_id = r.id
            order by channel, seq desc) c), '[]'::jsonb) as consents
        from registrants r join bands b on b.id = r.band_id`

      const list = (organizationId: OrganizationId, query: RegistrantQuery) => {
        const like = query.q === undefined ? null : `%${query.q.replace(/[\\%_]/g, "\\$&")}%`
        return rowsOrDie(
          SqlSchema.findAll({
            Request: OrganizationId,
            Result: RegistrantRow,
            execute: (organizationId) => sql`${view}
          where r.organization_id = ${organizationId}
            ${query.eventId === undefined ? sql`` : sql`and b.event_id = ${query.eventId}`}
            ${query.bandUid === undefined ? sql`` : sql`and b.band_uid = ${query.bandUid}`}
            ${like === null ? sql`` : sql`and (r.name ilike ${like} or r.email ilike ${like})`}
            ${
              query.consent === undefined
                ? sql``
                : sql`and (select granted from registrant_consents c where c.registrant_id = r.id
                    and c.channel = ${query.consent} order by c.seq desc limit 1) is true`
            }
            ${query.after === null ? sql`` : sql`and r.id < ${query.after}`}
          order by r.id desc limit ${query.limit + 1}`
          })(organizationId)
        )
      }

      /** `lock` takes the row for the rest of the transaction. */
      const find = (
        organizationId: OrganizationId,
        id: RegistrantId,
        options: { readonly lock?: boolean } = {}
      ) =>
        rowsOrDie(
          SqlSchema.findOne({
            Request: RegistrantId,
            Result: RegistrantRow,
            execute: (id) => sql`${view} where r.id = ${id} and r.organization_id = ${organizationId}
              ${options.lock ? sql`for update of r` : sql``}`
          })(id)
        ).pipe(Effect.map(Option.getOrUndefined))

      const findByBand = (bandId: BandId | string) =>
        rowsOrDie(
          SqlSchema.findOne({
            Request: Schema.String,
            Result: RegistrantRow,
            execute: (bandId) => sql`${view} where r.band_id = ${bandId}`
          })(bandId)
        ).pipe(Effect.map(Option.getOrUndefined))

      /**
       * The band's registrant with `columns` set, created if the band has none (with `source`). Answers the
       * registrant's id. The caller has checked that the band is the organisation's.
       */
      const upsert = (
        organizationId: OrganizationId,
        bandId: BandId | string,
        source: ConsentSource,
        columns: RegistrantColumns
      ) => {
        const set = Object.keys(columns).length === 0 ? { name: sql`registrants.name` } : columns
        return Effect.map(
          sql<{ id: RegistrantId }>`
            insert into registrants ${sql.insert({ organizationId, bandId, source, ...columns })}
            on conflict (band_id) do update set ${sql.update(set)}, updated_at = now()
            returning id`,
          (rows) => rows[0]!.id
        )
      }

      /** Only a registrant holding nothing (no name, email, phone or consent) is removed. */
      const dropIfEmpty = (bandId: BandId | string) => sql`
        delete from registrants r where band_id = ${bandId} and name is null and email is null and phone is null
          and not exists (select 1 from registrant_consents c where c.registrant_id = r.id)`

      const update = (id: RegistrantId, columns: RegistrantColumns) =>
        sql`update registrants set ${sql.update(columns)}, updated_at = now() where id = ${id}`

      const appendConsents = (
        id: RegistrantId,
        source: ConsentSource,
        consents: ReadonlyArray<NewConsent>
      ) =>
        consents.length === 0
          ? Effect.void
          : sql`insert into registrant_consents ${sql.insert(
              consents.map((consent) => ({ registrantId: id, source, ...consent }))
            )}`

      const consentHistory = (id: RegistrantId) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: RegistrantId,
            Result: Schema.Struct({ consent: Consent }),
            execute: (id) => sql`select ${consentJson(sql, "c")} as consent from registrant_consents c
              where c.registrant_id = ${id} order by c.seq`
          })(id)
        ).pipe(Effect.map((rows) => rows.map((row) => row.consent)))

      /**
       * The person's row and consents go; the band, its taps and every count stay. So do the copies of their
       * address elsewhere: registration messages refused into a dead letter that carry their email or phone
       * (deleted: an operator cannot keep what the person asked to be forgotten), and their band's journey
       * errors (an SMTP server names the recipient it refused), cleared.
       */
      const eraseWhere = (match: Fragment) => sql<{ id: RegistrantId }>`
        with gone as (delete from registrants where ${match} returning id, band_id, email, phone),
        letters as (
          delete from registration_dead_letters d using gone
          where strpos(d.body, gone.email) > 0 or strpos(d.body, gone.phone) > 0
        ),
        errors as (
          update journey_messages m set last_error = null from gone
          where m.band_id = gone.band_id and m.last_error is not null
        )
        select id from gone`

      const erase = (id: RegistrantId) => eraseWhere(sql`id = ${id}`)

      const eraseByBand = (bandId: BandId | string) => eraseWhere(sql`band_id = ${bandId}`)

      /** The band's event, for an export. */
      const bandOf = (bandId: BandId) =>
        Effect.map(
          sql<{
            eventName: string
          }>`select e.name as event_name from bands b join events e on e.id = b.event_id
            where b.id = ${bandId}`,
          (rows) => rows[0]?.eventName ?? ""
        )

      /** The band's latest taps, oldest first: when, and where each went. */
      const taps = (organizationId: OrganizationId, bandId: BandId, limit: number) =>
        sql<{ tappedAt: Date; destinationUrl: string | null }>`
          select tapped_at, destination_url from (
            select id, tapped_at, destination_url from taps
            where band_id = ${bandId} and organization_id = ${organizationId} order by id desc limit ${limit}
          ) t order by id`

      /**
       * Registrants whose band's event ended more than `days` ago (an event without an end is never due),
       * across organisations: the retention job erases them.
       */
      const expired = (days: number, limit: number) =>
        sql<{ id: RegistrantId; organizationId: OrganizationId; bandId: BandId }>`
          select r.id, r.organization_id, r.band_id from registrants r
          join bands b on b.id = r.band_id join events e on e.id = b.event_id
          where e.ends_at < now() - make_interval(days => ${days})
          order by r.id limit ${limit}`

      return {
        list,
        find,
        findByBand,
        upsert,
        dropIfEmpty,
        update,
        appendConsents,
        consentHistory,
        erase,
        eraseByBand,
        bandOf,
        taps,
        expired
      } as const
    })
  }
) {}
