import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export interface RecapRow {
  readonly id: string
  readonly organizationId: string
  readonly subjectType: "event" | "campaign" | "organization"
  readonly subjectId: string | null
  readonly subjectName: string
  readonly rangeFrom: Date | null
  readonly rangeTo: Date | null
  readonly text: string
  readonly generatedText: string
  readonly grounding: unknown
  readonly toolCalls: unknown
  readonly provider: string
  readonly model: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: string
  readonly createdAt: Date
  readonly editedAt: Date | null
}

/** What a recap's subject spans: its events' times and their windows', in the events' zone. */
export interface SubjectSpan {
  readonly name: string
  readonly eventIds: ReadonlyArray<string>
  readonly timezone: string
  readonly from: Date | null
  readonly to: Date | null
}

/** The SQL of recaps, and what a recap needs to know of its subject. Every statement names the organisation. */
export class RecapRepository extends Effect.Service<RecapRepository>()("@tapline/server/RecapRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** The events' span and zone (UTC when they have several); windows may open before an event starts. */
    const span = (organizationId: string, name: string, eventIds: ReadonlyArray<string>) =>
      Effect.map(
        sql<{ from: Date | null; to: Date | null; zones: ReadonlyArray<string> }>`
          select least(min(e.starts_at), min(w.starts_at)) as "from",
            greatest(max(e.ends_at), max(w.ends_at)) as "to",
            array_agg(distinct e.timezone) as zones
          from events e left join windows w on w.event_id = e.id
          where e.organization_id = ${organizationId} and e.id = any(${[...eventIds]}::uuid[])`,
        ([row]): SubjectSpan => ({
          name,
          eventIds,
          timezone: row?.zones.length === 1 ? row.zones[0]! : "UTC",
          from: row?.from ?? null,
          to: row?.to ?? null
        })
      )

    const event = (organizationId: string, eventId: string) =>
      Effect.gen(function* () {
        const [row] = yield* sql<{
          name: string
          timezone: string
          startsAt: Date | null
          endsAt: Date | null
        }>`
          select name, timezone, starts_at, ends_at from events
          where id = ${eventId} and organization_id = ${organizationId}
          union all
          select name, timezone, starts_at, ends_at from purged_events
          where id = ${eventId} and organization_id = ${organizationId}`
        if (row === undefined) return undefined
        const found = yield* span(organizationId, row.name, [eventId])
        // A purged event has no windows or event row left: its own times.
        return {
          ...found,
          timezone: row.timezone,
          from: found.from ?? row.startsAt,
          to: found.to ?? row.endsAt
        }
      })

    const campaign = (organizationId: string, campaignId: string) =>
      Effect.gen(function* () {
        const [row] = yield* sql<{ name: string }>`
          select name from campaigns
          where id = ${campaignId} and organization_id = ${organizationId} and deleted_at is null`
        if (row === undefined) return undefined
        const events = yield* sql<{ id: string }>`
          select id from events
          where campaign_id = ${campaignId} and organization_id = ${organizationId} and deleted_at is null`
        return yield* span(
          organizationId,
          row.name,
          events.map((e) => e.id)
        )
      })

    const organization = (organizationId: string) =>
      Effect.map(
        sql<{ name: string; zones: ReadonlyArray<string> | null }>`
          select o.name, (select array_agg(distinct timezone) from events
            where organization_id = o.id and deleted_at is null) as zones
          from organizations o where o.id = ${organizationId}`,
        ([row]) => ({ name: row?.name ?? "", timezone: row?.zones?.length === 1 ? row.zones[0]! : "UTC" })
      )

    /** The windows' names and types, for the per-window figures. */
    const windows = (organizationId: string, ids: ReadonlyArray<string>) =>
      sql<{ id: string; title: string; type: string; startsAt: Date; endsAt: Date }>`
        select id, title, type, starts_at, ends_at from windows
        where organization_id = ${organizationId} and id = any(${[...ids]}::uuid[])`

    /** The organisation's activations that overlap the range (or all of them), newest first. */
    const activations = (organizationId: string, from: Date | null, to: Date | null) =>
      sql<{
        id: string
        name: string
        bandIds: ReadonlyArray<string>
        tagIds: ReadonlyArray<string>
        windowIds: ReadonlyArray<string>
        startsAt: Date
        endsAt: Date
      }>`
        select id, name, band_ids, tag_ids, window_ids, starts_at, ends_at from activations
        where organization_id = ${organizationId}
          ${from === null ? sql`` : sql`and ends_at > ${from}`}
          ${to === null ? sql`` : sql`and starts_at < ${to}`}
        order by id desc limit 20`

    const insert = (row: Omit<RecapRow, "id" | "createdAt" | "editedAt" | "costUsd"> & { costUsd: number }) =>
      Effect.map(
        sql<RecapRow>`
          insert into recaps (organization_id, subject_type, subject_id, subject_name, range_from, range_to,
            text, generated_text, grounding, tool_calls, provider, model, input_tokens, output_tokens, cost_usd)
          values (${row.organizationId}, ${row.subjectType}, ${row.subjectId}, ${row.subjectName},
            ${row.rangeFrom}, ${row.rangeTo}, ${row.text}, ${row.generatedText},
            ${JSON.stringify(row.grounding)}::jsonb, ${JSON.stringify(row.toolCalls)}::jsonb,
            ${row.provider}, ${row.model}, ${row.inputTokens}, ${row.outputTokens}, ${row.costUsd})
          returning *`,
        (rows) => rows[0]!
      )

    const find = (organizationId: string, id: string) =>
      Effect.map(
        sql<RecapRow>`select * from recaps where id = ${id} and organization_id = ${organizationId}`,
        (rows) => rows[0]
      )

    const list = (organizationId: string, after: string | null, limit: number) =>
      sql<RecapRow>`
        select * from recaps where organization_id = ${organizationId}
          ${after === null ? sql`` : sql`and id < ${after}`}
        order by id desc limit ${limit + 1}`

    const updateText = (organizationId: string, id: string, text: string) =>
      Effect.map(
        sql<RecapRow>`
          update recaps set text = ${text}, edited_at = now()
          where id = ${id} and organization_id = ${organizationId} returning *`,
        (rows) => rows[0]
      )

    return {
      event,
      campaign,
      organization,
      windows,
      activations,
      insert,
      find,
      list,
      updateText,
      withTransaction: sql.withTransaction
    } as const
  })
}) {}
