import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** What the page shows and needs for a token's band: the organisation's branding, the event, the band. */
export interface PageContext {
  readonly organizationId: string
  readonly organizationName: string
  readonly branding: unknown
  readonly eventName: string
  /** Null while a band auto-assigned by the tap is not stored yet (the writer creates it off the hot path). */
  readonly bandId: string | null
  /** Where the event's registration window links on (the window's URL), when one runs now. */
  readonly continueUrl: string | null
}

export interface Confirmation {
  readonly id: string
  readonly organizationId: string
  readonly registrantId: string
  readonly emailHash: string
  readonly wording: string
  readonly submittedAt: Date
  readonly expiresAt: Date
  readonly confirmedAt: Date | null
}

/** The only SQL on `registration_confirmations`, and the page's read of its organisation, event and band. */
export class RegistrationPageRepository extends Effect.Service<RegistrationPageRepository>()(
  "@tapline/server/RegistrationPageRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      /** Undefined when the event or its organisation is gone (deleted, in the trash). */
      const context = (eventId: string, bandUid: string) =>
        Effect.map(
          sql<PageContext>`
            select o.id as organization_id, o.name as organization_name, o.branding, e.name as event_name,
              (select b.id from bands b where b.event_id = e.id and b.band_uid = ${bandUid} and b.deleted_at is null
                limit 1) as band_id,
              (select w.url from windows w where w.event_id = e.id and w.destination = 'REGISTRATION_PAGE'
                and w.starts_at <= now() and w.ends_at > now() limit 1) as continue_url
            from events e join organizations o on o.id = e.organization_id
            where e.id = ${eventId} and e.deleted_at is null and o.deleted_at is null`,
          (rows) => rows[0]
        )

      const insert = (row: {
        readonly organizationId: string
        readonly registrantId: string
        readonly tokenHash: string
        readonly emailHash: string
        readonly wording: string
        readonly submittedAt: Date
        readonly expiresAt: Date
      }) => sql`insert into registration_confirmations ${sql.insert({ ...row })}`

      const byToken = (tokenHash: string) =>
        Effect.map(
          sql<Confirmation>`
            select id, organization_id, registrant_id, email_hash, wording, submitted_at, expires_at, confirmed_at
            from registration_confirmations where token_hash = ${tokenHash}`,
          (rows) => rows[0]
        )

      /** Marks it confirmed; false when another request did first. */
      const markConfirmed = (id: string, at: Date) =>
        Effect.map(
          sql`update registration_confirmations set confirmed_at = ${at} where id = ${id} and confirmed_at is null
            returning id`,
          (rows) => rows.length === 1
        )

      return { context, insert, byToken, markConfirmed } as const
    })
  }
) {}
