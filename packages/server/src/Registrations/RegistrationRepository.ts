import * as SqlClient from "@effect/sql/SqlClient"
import type { OrganizationId, RegistrationSourceId } from "@tapline/domain"
import { Effect } from "effect"

export interface SourceRow {
  readonly id: RegistrationSourceId
  readonly organizationId: OrganizationId
  readonly name: string
  readonly urlSealed: string
  readonly urlShown: string
  readonly enabled: boolean
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface DeadLetterRow {
  readonly id: string
  readonly messageId: string | null
  readonly reason: string
  readonly body: string
  readonly bodyBytes: number
  readonly receivedAt: Date
}

/** The band a registration names, as it stands (locked for the transaction applying it). */
export interface BandRow {
  readonly id: string
  readonly registrantName: string | null
  readonly registrantEmail: string | null
  readonly deletedAt: Date | null
}

/** What a dead letter keeps of a body: the first 4 KiB (a poison message can be 1 MB), and its whole size. */
export const DEAD_LETTER_BODY_CHARS = 4096

/** The SQL of registrations in: sources, the processed-message log, dead letters and the band upsert. */
export class RegistrationRepository extends Effect.Service<RegistrationRepository>()(
  "@tapline/server/RegistrationRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const insert = (input: {
        readonly organizationId: OrganizationId
        readonly name: string
        readonly urlSealed: string
        readonly urlShown: string
        readonly enabled: boolean
      }) =>
        Effect.map(
          sql<SourceRow>`insert into registration_sources ${sql.insert(input)} returning *`,
          (rows) => rows[0]!
        )

      const list = (organizationId: OrganizationId) =>
        sql<SourceRow>`select * from registration_sources where organization_id = ${organizationId} order by id`

      const find = (organizationId: OrganizationId, id: RegistrationSourceId, lock = false) =>
        Effect.map(
          sql<SourceRow>`select * from registration_sources
            where organization_id = ${organizationId} and id = ${id} ${lock ? sql`for update` : sql``}`,
          (rows) => rows[0]
        )

      const update = (
        id: RegistrationSourceId,
        change: { readonly urlSealed?: string; readonly urlShown?: string; readonly enabled?: boolean }
      ) => sql<SourceRow>`update registration_sources set ${sql.update({ ...change, updatedAt: new Date() })}
          where id = ${id} returning *`

      const remove = (organizationId: OrganizationId, id: RegistrationSourceId) =>
        Effect.map(
          sql<SourceRow>`delete from registration_sources
            where organization_id = ${organizationId} and id = ${id} returning *`,
          (rows) => rows[0]
        )

      /** Every enabled source of every organisation: what the consumers run. */
      const enabled = sql<SourceRow>`select * from registration_sources where enabled order by id`

      /** True when the message is new to the source; false when it was processed already (a redelivery). */
      const markProcessed = (sourceKey: string, messageId: string) =>
        Effect.map(
          sql`insert into registration_messages (source_key, message_id) values (${sourceKey}, ${messageId})
              on conflict do nothing returning 1`,
          (rows) => rows.length === 1
        )

      const deadLetter = (input: {
        readonly sourceKey: string
        readonly messageId: string | null
        readonly reason: string
        readonly body: string
      }) =>
        sql`insert into registration_dead_letters ${sql.insert({
          sourceKey: input.sourceKey,
          messageId: input.messageId?.slice(0, 256) ?? null,
          reason: input.reason,
          // NUL cannot be stored in text; the rest of a poison body is kept as received, cut short.
          body: input.body.slice(0, DEAD_LETTER_BODY_CHARS).replaceAll("\u0000", "\uFFFD"),
          bodyBytes: Buffer.byteLength(input.body)
        })}`

      const deadLetters = (
        sourceKey: string,
        query: { readonly after: string | null; readonly limit: number }
      ) =>
        sql<DeadLetterRow>`select id, message_id, reason, body, body_bytes, received_at
          from registration_dead_letters
          where source_key = ${sourceKey} ${query.after === null ? sql`` : sql`and id < ${query.after}`}
          order by id desc limit ${query.limit + 1}`

      /** The organisation of a live event, with its slug (a platform source's allow-list may name either). */
      const eventOwner = (eventId: string) =>
        Effect.map(
          sql<{ organizationId: OrganizationId; slug: string }>`
            select e.organization_id, o.slug from events e join organizations o on o.id = e.organization_id
            where e.id = ${eventId} and e.deleted_at is null and o.deleted_at is null`,
          (rows) => rows[0]
        )

      const lockBand = (eventId: string, bandUid: string) =>
        Effect.map(
          sql<BandRow>`select b.id, r.name as registrant_name, r.email as registrant_email, b.deleted_at
            from bands b left join registrants r on r.band_id = b.id
            where b.event_id = ${eventId} and b.band_uid = ${bandUid} for update of b`,
          (rows) => rows[0]
        )

      /** A new band; its registrant is written by the caller (RegistrantRepository). */
      const createBand = (input: {
        readonly organizationId: OrganizationId
        readonly eventId: string
        readonly bandUid: string
      }) =>
        Effect.map(
          sql<{ id: string }>`insert into bands ${sql.insert(input)} returning id`,
          (rows) => rows[0]!.id
        )

      /** Dead letters and processed-message ids older than `days`. */
      const prune = (days: number) =>
        Effect.gen(function* () {
          const letters = yield* sql`delete from registration_dead_letters
            where received_at < now() - make_interval(days => ${days}) returning 1`
          const messages = yield* sql`delete from registration_messages
            where processed_at < now() - make_interval(days => ${days}) returning 1`
          return { deadLetters: letters.length, messages: messages.length }
        })

      return {
        insert,
        list,
        find,
        update,
        remove,
        enabled,
        markProcessed,
        deadLetter,
        deadLetters,
        eventOwner,
        lockBand,
        createBand,
        prune
      }
    })
  }
) {}
