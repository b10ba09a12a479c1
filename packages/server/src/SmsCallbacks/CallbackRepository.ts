import * as SqlClient from "@effect/sql/SqlClient"
import type { RegistrantId } from "@tapline/domain"
import { Effect } from "effect"
import type { CallbackProvider, DeliveryStatus } from "./DeliveryStatus.js"

/** How long a callback's id is remembered: past every provider's retries (SNS retries for about an hour). */
export const SEEN_RETENTION = "7 days"

/** What a delivery-status callback did to its message. */
export type StatusOutcome = "applied" | "stale" | "unknown_message"

/** A registrant with that phone, and where its SMS consent stands (its latest row; null when it has none). */
export interface PhoneRegistrant {
  readonly id: RegistrantId
  readonly organizationId: string
  readonly granted: boolean | null
  readonly source: string | null
  /** Whether SMS consent was ever given: START gives back only a consent a STOP took. */
  readonly everGranted: boolean
}

/**
 * The SQL of the callbacks: the replay guard, a message's delivery status and the registrants a phone
 * names. Kept here rather than in JourneyMessageRepository (which the sender owns) because these statements
 * are the callbacks' rules: the status that never moves back, and the STOP that finds people by phone.
 */
export class CallbackRepository extends Effect.Service<CallbackRepository>()(
  "@tapline/server/SmsCallbackRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      /**
       * True the first time this callback is seen. Inside the transaction that applies it: a callback whose
       * change failed is not remembered, and its retry applies. Now and then the remembered ids past their
       * retention go (a cheap indexed delete; no job needed for a table this small).
       */
      const firstSeen = (provider: CallbackProvider, callbackId: string) =>
        Effect.gen(function* () {
          if (Math.random() < 0.01)
            yield* sql`delete from sms_callbacks_seen where received_at < now() - ${SEEN_RETENTION}::interval`
          const rows = yield* sql`
            insert into sms_callbacks_seen (provider, callback_id) values (${provider}, ${callbackId})
            on conflict do nothing returning provider`
          return rows.length === 1
        })

      /**
       * The status moves only forward (see `rank`): a message already as far along or further is left as it
       * is, and told apart from a message nobody sent (`unknown_message`).
       */
      const applyStatus = (
        provider: CallbackProvider,
        providerMessageId: string,
        status: DeliveryStatus,
        statusRank: number,
        detail: string | null
      ) =>
        Effect.gen(function* () {
          const updated = yield* sql`
            update journey_messages set delivery_status = ${status}, delivery_detail = ${detail},
              delivery_updated_at = now()
            where provider = ${provider} and provider_message_id = ${providerMessageId}
              and (delivery_status is null or (case delivery_status when 'queued' then 0 when 'sent' then 1
                else 2 end) < ${statusRank})
            returning id`
          if (updated.length > 0) return "applied" as StatusOutcome
          const exists = yield* sql`
            select 1 from journey_messages where provider = ${provider} and provider_message_id = ${providerMessageId}`
          return (exists.length > 0 ? "stale" : "unknown_message") as StatusOutcome
        })

      /** Every registrant with this phone, across organisations, with their SMS consent's latest row. */
      const registrantsOfPhone = (phone: string) =>
        sql<PhoneRegistrant>`
          select r.id, r.organization_id, c.granted, c.source,
            exists (select 1 from registrant_consents g
              where g.registrant_id = r.id and g.channel = 'sms' and g.granted) as ever_granted
          from registrants r
          left join lateral (
            select granted, source from registrant_consents
            where registrant_id = r.id and channel = 'sms' order by seq desc limit 1
          ) c on true
          where r.phone = ${phone}
          order by r.id`

      /**
       * The help text of the organisation whose journey last texted this phone (null when it has none, or no
       * journey did). Through the band's event's SMS journeys, so each message is found by its (journey, band)
       * key rather than by a scan of the delivery log.
       */
      const helpTextOf = (phone: string) =>
        Effect.map(
          sql<{ smsHelpText: string | null }>`
            select o.sms_help_text from registrants r
            join bands b on b.id = r.band_id
            join journeys j on j.event_id = b.event_id and j.channel = 'sms'
            join journey_messages m on m.journey_id = j.id and m.band_id = r.band_id
            join organizations o on o.id = m.organization_id
            where r.phone = ${phone} and m.sent_at is not null
            order by m.sent_at desc limit 1`,
          (rows) => rows[0]?.smsHelpText ?? null
        )

      return { firstSeen, applyStatus, registrantsOfPhone, helpTextOf } as const
    })
  }
) {}
