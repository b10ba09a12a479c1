import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { JourneyId, JourneyMessage, type JourneyMessageId, type OrganizationId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"

/**
 * How far back of its mark a registration journey looks for registrants: `created_at` is its transaction's
 * start, so a registrant committed after a scan can carry a time before that scan's mark (a long import).
 * Registrants inside the lookback that already have a message cost an index probe each, nothing more.
 */
export const REGISTRATION_LOOKBACK = "10 minutes"

/** What a message's due time needs of its event: its time zone and quiet hours. */
export interface QuietJourney {
  readonly timezone: string
  readonly quietStart: string | null
  readonly quietEnd: string | null
}

/** A journey as a trigger sees it: with its event's time zone and quiet hours. */
export interface TriggerJourney extends QuietJourney {
  readonly id: JourneyId
  readonly organizationId: OrganizationId
  readonly eventId: string
  readonly trigger: string
  readonly windowType: string | null
  readonly delayMinutes: number
  readonly createdAt: Date
}

/** A message to queue; the once-only rule drops it when the (journey, band) already has one. */
export interface NewMessage {
  readonly organizationId: string
  readonly journeyId: string
  readonly bandId: string
  readonly windowUrl: string | null
  readonly dueAt: Date
  readonly unsubscribeToken: string
}

/** A scheduled trigger that fired (a registration, an event's end): the band, and when it fired. */
export interface Fired extends QuietJourney {
  readonly journeyId: JourneyId
  readonly organizationId: OrganizationId
  readonly bandId: string
  readonly firedAt: Date
  readonly delayMinutes: number
}

/** Everything a send needs, read when it is sent: the latest registrant, consent and address. */
export interface SendContext {
  readonly id: JourneyMessageId
  readonly organizationId: OrganizationId
  readonly enabled: boolean
  readonly channel: string
  readonly subject: string
  readonly body: string
  readonly eventName: string
  readonly windowUrl: string | null
  readonly currentWindowUrl: string | null
  readonly fallbackUrl: string | null
  readonly unsubscribeToken: string
  readonly attempts: number
  readonly registrantId: string | null
  readonly name: string | null
  readonly email: string | null
  readonly phone: string | null
  /** The latest consent to the journey's channel. */
  readonly consent: boolean | null
}

/** One of a registrant's push devices, as a push send needs it. */
export interface DeviceRow {
  readonly id: string
  readonly kind: "webpush" | "fcm" | "apns"
  readonly address: string
  readonly p256dh: string | null
  readonly auth: string | null
}

/** A delivery log line as PostgreSQL returns it: the API's JourneyMessage, with the driver's dates. */
export const MessageRow = Schema.Struct({
  ...JourneyMessage.fields,
  dueAt: Schema.DateFromSelf,
  sentAt: Schema.NullOr(Schema.DateFromSelf),
  createdAt: Schema.DateFromSelf
})

/** The only SQL on `journey_messages`: the delivery log and the send queue in one table. */
export class JourneyMessageRepository extends Effect.Service<JourneyMessageRepository>()(
  "@tapline/server/JourneyMessageRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const triggerColumns = sql`e.timezone, e.quiet_hours_start::text as quiet_start,
        e.quiet_hours_end::text as quiet_end`

      /** The enabled tap-triggered journeys of these events. */
      const tapJourneys = (eventIds: ReadonlyArray<string>) =>
        sql<TriggerJourney>`
          select j.id, j.organization_id, j.event_id, j.trigger, j.window_type, j.delay_minutes, j.created_at,
            ${triggerColumns}
          from journeys j join events e on e.id = j.event_id
          where j.enabled and j.trigger in ('first_tap', 'window_tap') and j.event_id in ${sql.in(eventIds)}`

      /** Which of these bands have a registrant: only they can be written to. */
      const registeredBands = (bandIds: ReadonlyArray<string>) =>
        Effect.map(
          sql<{ bandId: string }>`select band_id from registrants where band_id in ${sql.in(bandIds)}`,
          (rows) => new Set(rows.map((row) => row.bandId))
        )

      const enqueue = (messages: ReadonlyArray<NewMessage>) =>
        messages.length === 0
          ? Effect.succeed(0)
          : Effect.map(
              sql`insert into journey_messages ${sql.insert(messages.map((m) => ({ ...m })))}
                on conflict (journey_id, band_id) do nothing returning id`,
              (rows) => rows.length
            )

      /**
       * Scheduled triggers that fired since their journey's mark and have no message yet: every registered band
       * of an event whose end plus `after_minutes` fell in (mark, now], and registrants recorded since the
       * journey was made and since its mark less REGISTRATION_LOOKBACK. An after-event journey whose moment is
       * at or before its mark is not joined to its bands at all: the ended events of the past are not scanned
       * again. A journey without a mark (new, or the worker never ran) starts from the beginning, so an end
       * that passed while no worker ran is found on the next scan. Registrants are found through their
       * `created_at` index from the lowest mark of the registration journeys.
       */
      const fired = (now: Date, limit: number) =>
        Effect.map(
          Effect.all([
            sql<Fired>`
              with due as (
                select j.id, j.organization_id, j.event_id, j.delay_minutes, ${triggerColumns},
                  e.ends_at + make_interval(mins => j.after_minutes) as fires_at
                from journeys j join events e on e.id = j.event_id
                left join journey_trigger_marks k on k.journey_id = j.id
                where j.enabled and j.trigger = 'after_event'
                  and e.ends_at + make_interval(mins => j.after_minutes) <= ${now}
                  and e.ends_at + make_interval(mins => j.after_minutes) > coalesce(k.through_at, '-infinity')
              )
              select d.id as journey_id, d.organization_id, b.id as band_id, d.fires_at as fired_at,
                d.delay_minutes, d.timezone, d.quiet_start, d.quiet_end
              from due d join bands b on b.event_id = d.event_id join registrants r on r.band_id = b.id
              where not exists (select 1 from journey_messages m where m.journey_id = d.id and m.band_id = b.id)
              limit ${limit}`,
            sql<Fired>`
              with marks as (
                select j.id, j.organization_id, j.event_id, j.delay_minutes, j.created_at, ${triggerColumns},
                  coalesce(k.through_at, '-infinity') - ${REGISTRATION_LOOKBACK}::interval as since
                from journeys j join events e on e.id = j.event_id
                left join journey_trigger_marks k on k.journey_id = j.id
                where j.enabled and j.trigger = 'registration'
              )
              select d.id as journey_id, d.organization_id, b.id as band_id, r.created_at as fired_at,
                d.delay_minutes, d.timezone, d.quiet_start, d.quiet_end
              from registrants r join bands b on b.id = r.band_id join marks d on d.event_id = b.event_id
              where r.created_at > (select min(since) from marks)
                and r.created_at > d.since and r.created_at >= d.created_at
                and not exists (select 1 from journey_messages m where m.journey_id = d.id and m.band_id = b.id)
              limit ${limit}`
          ]),
          ([ended, registered]) => ({
            fired: [...ended, ...registered],
            complete: ended.length < limit && registered.length < limit
          })
        )

      /**
       * Every enabled scheduled journey's triggers were queued up to `now`: their marks move there (never back,
       * when two senders race). Called only after the messages of a complete scan were inserted, so a crash in
       * between scans the same window again (the inserts are idempotent).
       */
      const markScanned = (now: Date) => sql`
        insert into journey_trigger_marks (journey_id, through_at)
        select id, ${now} from journeys where enabled and trigger in ('after_event', 'registration')
        on conflict (journey_id) do update set through_at = excluded.through_at
          where journey_trigger_marks.through_at < excluded.through_at`

      /**
       * Takes up to `batch` due messages, at most `perOrganization` of each organisation, in turns: every
       * organisation's oldest first, then every one's second. A message whose sender died (`sending` past its
       * lease) is due again. The answer is in that order. An organisation alone with due messages takes the
       * whole round (a cap would only leave the provider's rate unused). Each organisation's candidates are read
       * from its own index range (its first due rows), so a backlog of thousands is not ranked whole at every
       * claim.
       */
      const claim = (now: Date, options: { batch: number; perOrganization: number; leaseSeconds: number }) =>
        Effect.map(
          sql<{ id: JourneyMessageId; turn: number }>`
            with organizations as (
              select distinct organization_id from journey_messages
              where status in ('queued', 'sending') and due_at <= ${now}
            ), share as (
              select case when count(*) > 1 then ${options.perOrganization}::int else ${options.batch}::int end as n
              from organizations
            ), ranked as (
              select c.id, row_number() over (partition by o.organization_id order by c.due_at, c.id) as turn
              from organizations o cross join lateral (
                select m.id, m.due_at from journey_messages m
                where m.organization_id = o.organization_id and m.status in ('queued', 'sending')
                  and m.due_at <= ${now} and (m.status = 'queued' or m.claimed_until < ${now})
                order by m.due_at, m.id limit (select n from share)
              ) c
            ), picked as (
              select id, turn from ranked order by turn, id limit ${options.batch}
            )
            update journey_messages m set status = 'sending', attempts = attempts + 1, updated_at = now(),
              claimed_until = ${new Date(now.getTime() + options.leaseSeconds * 1000)}
            from picked where m.id = picked.id
              and ((m.status = 'queued' and m.due_at <= ${now}) or (m.status = 'sending' and m.claimed_until < ${now}))
            returning m.id, picked.turn`,
          (rows) =>
            [...rows]
              .sort((a, b) => Number(a.turn) - Number(b.turn) || a.id.localeCompare(b.id))
              .map((r) => r.id)
        )

      /** When the earliest queued message falls due (null: none is queued). */
      const nextDue = Effect.map(
        sql<{ due: Date | null }>`select min(due_at) as due from journey_messages where status = 'queued'`,
        (rows) => rows[0]?.due ?? null
      )

      /**
       * What sending each of these messages needs, in one query for a claim: read when claimed, not when each
       * send starts (two statements a message became one, so a PostgreSQL slowed by the writer's flood holds
       * the sender up less). A message removed meanwhile is absent.
       */
      const contexts = (ids: ReadonlyArray<JourneyMessageId>) =>
        ids.length === 0
          ? Effect.succeed([] as ReadonlyArray<SendContext>)
          : sql<SendContext>`
              select m.id, m.organization_id, m.window_url, m.unsubscribe_token, m.attempts, j.enabled, j.channel,
                j.subject, j.body, e.name as event_name, e.fallback_url, r.id as registrant_id, r.name, r.email,
                r.phone,
                (select granted from registrant_consents c where c.registrant_id = r.id and c.channel = j.channel
                  order by c.seq desc limit 1) as consent,
                (select w.url from windows w where w.event_id = e.id and w.starts_at <= now() and w.ends_at > now()
                  limit 1) as current_window_url
              from journey_messages m join journeys j on j.id = m.journey_id join events e on e.id = j.event_id
              left join registrants r on r.band_id = m.band_id
              where m.id in ${sql.in(ids)}`

      /**
       * Sent; `providerMessageId` is the provider's id for it (an SMS's), which its callbacks name. An id that
       * cannot be stored (empty, longer than the column takes, or one the provider already gave another message)
       * is left out rather than failing the statement: the sender retries a failed "sent" until it succeeds, so
       * a refused id would hold the message in `sending` for good and send it again at the lease's end.
       */
      const sent = (id: JourneyMessageId, provider: string, providerMessageId: string | null = null) => {
        const mark = (messageId: string | null) => sql`
          update journey_messages set status = 'sent', sent_at = now(), provider = ${provider},
            provider_message_id = ${messageId}, last_error = null, claimed_until = null, updated_at = now()
          where id = ${id} and status = 'sending'`
        const storable =
          providerMessageId !== null && providerMessageId.length > 0 && providerMessageId.length <= 200
            ? providerMessageId
            : null
        return mark(storable).pipe(
          Effect.catchIf(
            (error) => storable !== null && (error.cause as { code?: string } | undefined)?.code === "23505",
            () =>
              Effect.logWarning(
                "journey message sent; its provider id is another message's, not recorded"
              ).pipe(Effect.annotateLogs({ provider }), Effect.zipRight(mark(null)))
          )
        )
      }

      /** A registrant's push devices, oldest first. */
      const devices = (registrantId: string) =>
        sql<DeviceRow>`
          select id, kind, address, p256dh, auth from registrant_push_subscriptions
          where registrant_id = ${registrantId} order by created_at, id`

      /** A device the provider called expired or invalid: it is never tried again. */
      const deviceGone = (id: string) => sql`delete from registrant_push_subscriptions where id = ${id}`

      const deviceUsed = (ids: ReadonlyArray<string>) =>
        ids.length === 0
          ? Effect.void
          : Effect.asVoid(
              sql`update registrant_push_subscriptions set last_sent_at = now() where id in ${sql.in(ids)}`
            )

      const skipped = (id: JourneyMessageId, reason: string) => sql`
        update journey_messages set status = 'skipped', reason = ${reason}, claimed_until = null, updated_at = now()
        where id = ${id} and status = 'sending'`

      /** Back in the queue, due again at `dueAt`. */
      const retry = (id: JourneyMessageId, error: string, dueAt: Date) => sql`
        update journey_messages set status = 'queued', last_error = ${error}, due_at = ${dueAt},
          claimed_until = null, updated_at = now()
        where id = ${id} and status = 'sending'`

      const dead = (id: JourneyMessageId, error: string) => sql`
        update journey_messages set status = 'dead', last_error = ${error}, claimed_until = null, updated_at = now()
        where id = ${id} and status = 'sending'`

      const list = (
        organizationId: OrganizationId,
        journeyId: JourneyId,
        query: { readonly status?: string | undefined; readonly after: string | null; readonly limit: number }
      ) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: JourneyId,
            Result: MessageRow,
            execute: (journeyId) => sql`
              select * from journey_messages where journey_id = ${journeyId} and organization_id = ${organizationId}
                ${query.status === undefined ? sql`` : sql`and status = ${query.status}`}
                ${query.after === null ? sql`` : sql`and id < ${query.after}`}
              order by id desc limit ${query.limit + 1}`
          })(journeyId)
        )

      /**
       * A band's messages skipped for want of consent since `since`, while its double opt-in was pending: the
       * consent the person was asked for has just been given, so they are queued again (never sent, so the
       * once-only rule still holds), each due at `due` of its event's quiet hours.
       */
      const awaitedConsent = (bandId: string, since: Date, due: (journey: QuietJourney) => Date) =>
        Effect.gen(function* () {
          const rows = yield* sql<QuietJourney & { readonly id: string }>`
            select m.id, ${triggerColumns}
            from journey_messages m join journeys j on j.id = m.journey_id join events e on e.id = j.event_id
            where m.band_id = ${bandId} and m.status = 'skipped' and m.reason = 'no_consent'
              and m.updated_at >= ${since}`
          for (const row of rows)
            yield* sql`
              update journey_messages set status = 'queued', reason = null, attempts = 0, due_at = ${due(row)},
                updated_at = now()
              where id = ${row.id} and status = 'skipped'`
          return rows.length
        })

      /** A dead message back in the queue with its attempts reset; undefined when there is no such message. */
      const redrive = (organizationId: OrganizationId, journeyId: JourneyId, id: JourneyMessageId) =>
        rowsOrDie(
          SqlSchema.findOne({
            Request: Schema.String,
            Result: MessageRow,
            execute: (id) => sql`
              update journey_messages set status = case when status = 'dead' then 'queued' else status end,
                attempts = case when status = 'dead' then 0 else attempts end,
                due_at = case when status = 'dead' then now() else due_at end, updated_at = now()
              where id = ${id} and journey_id = ${journeyId} and organization_id = ${organizationId}
              returning *`
          })(id)
        ).pipe(Effect.map(Option.getOrUndefined))

      /** The registrant an unsubscribe link was sent to (none when erased since). */
      const registrantOfToken = (token: string) =>
        Effect.map(
          sql<{ registrantId: string; channel: string }>`
            select r.id as registrant_id, j.channel from journey_messages m
            join journeys j on j.id = m.journey_id join registrants r on r.band_id = m.band_id
            where m.unsubscribe_token = ${token}`,
          (rows) => rows[0]
        )

      /** Dead messages across organisations: the gauge the alert reads. */
      const deadCount = Effect.map(
        sql<{ count: string }>`select count(*) from journey_messages where status = 'dead'`,
        (rows) => Number(rows[0]?.count ?? 0)
      )

      return {
        tapJourneys,
        registeredBands,
        enqueue,
        fired,
        markScanned,
        claim,
        contexts,
        nextDue,
        sent,
        devices,
        deviceGone,
        deviceUsed,
        skipped,
        retry,
        dead,
        list,
        redrive,
        awaitedConsent,
        registrantOfToken,
        deadCount
      } as const
    })
  }
) {}
