import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import {
  Band,
  BandId,
  type BandSort,
  BandUid,
  EventId,
  OrganizationId,
  type SortOrder,
  type TagId
} from "@tapline/domain"
import { Effect, Schema } from "effect"
import { rowsOrDie } from "../Database/Rows.js"
import type { BandPosition } from "./BandOrder.js"

/** `count(*)` as PostgreSQL returns it: a bigint, as text. */
const CountRow = Schema.Struct({ count: Schema.String })

/** A band as the list reads it (the service decodes it), with the text its cursor keeps. */
const ListedBand = Schema.Struct(
  { id: BandId, sortKey: Schema.NullOr(Schema.String) },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

const BandKey = Schema.Struct({ id: BandId, bandUid: Schema.String })

export interface BandQuery {
  readonly deleted: boolean
  readonly eventId?: EventId | undefined
  readonly flagged?: boolean | undefined
  readonly autoAssigned?: boolean | undefined
  readonly tagId?: TagId | undefined
  readonly activity?: "tapped" | "never" | undefined
  /** Band id prefix, or part of the registrant's name or email. */
  readonly q?: string | undefined
  readonly sort: BandSort
  readonly order: SortOrder
  readonly after: BandPosition | null
  readonly limit: number
}

/** The only SQL on `bands` and `band_tags`, besides the import's bulk statements (BandImport.ts). */
export class BandRepository extends Effect.Service<BandRepository>()("@tapline/server/BandRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /*
     * The registrant lives in `registrants` (0022); a band still shows its name and email, read through this
     * join, so the console, the CLI and clients see the band as before.
     */
    const registrantJoin = sql`left join registrants r on r.band_id = b.id`
    const bandColumns = sql`b.*, r.name as registrant_name, r.email as registrant_email`

    const findByUid = SqlSchema.findOne({
      Request: Schema.Struct({ organizationId: OrganizationId, eventId: EventId, bandUid: BandUid }),
      Result: Band,
      execute: ({ bandUid, eventId, organizationId }) => sql`
        select ${bandColumns} from bands b ${registrantJoin}
        where b.organization_id = ${organizationId} and b.event_id = ${eventId} and b.band_uid = ${bandUid}
          and b.deleted_at is null`
    })

    /** Every event of the organisation holding this band id (a band may belong to several). */
    const findAllByUid = SqlSchema.findAll({
      Request: Schema.Struct({ organizationId: OrganizationId, bandUid: BandUid }),
      Result: Band,
      execute: ({ bandUid, organizationId }) => sql`
        select ${bandColumns} from bands b ${registrantJoin}
        where b.organization_id = ${organizationId} and b.band_uid = ${bandUid} and b.deleted_at is null
        order by b.event_id`
    })

    /**
     * Adds plain bands in one statement; ids already in the event are left as they are.
     * Returns how many rows were new.
     */
    const insertUids = (input: {
      readonly organizationId: OrganizationId
      readonly eventId: EventId
      readonly bandUids: ReadonlyArray<BandUid>
    }) =>
      rowsOrDie(
        SqlSchema.single({
          Request: EventId,
          Result: Schema.Struct({ inserted: Schema.String }),
          execute: (eventId) => sql`
        with added as (
          insert into bands (organization_id, event_id, band_uid)
          select ${input.organizationId}, ${eventId}, uid from unnest(${input.bandUids}::text[]) as uid
          on conflict (event_id, band_uid) do nothing
          returning 1
        )
        select count(*) as inserted from added`
        })(input.eventId)
      ).pipe(Effect.map((row) => Number(row.inserted)))

    const countByEvent = (input: { readonly organizationId: OrganizationId; readonly eventId: EventId }) =>
      rowsOrDie(
        SqlSchema.single({
          Request: EventId,
          Result: CountRow,
          execute: (eventId) => sql`
        select count(*) as count from bands
        where organization_id = ${input.organizationId} and event_id = ${eventId} and deleted_at is null`
        })(input.eventId)
      ).pipe(Effect.map((row) => Number(row.count)))

    /** A band as the API shows it: the row with its tag ids. */
    const viewColumns = sql`
      ${bandColumns}, array(select tag_id from band_tags t where t.band_id = b.id order by tag_id) as tag_ids`
    const view = sql`select ${viewColumns} from bands b ${registrantJoin}`

    /**
     * What each sort key of the list orders by: the column, its value as the text a cursor keeps (a time at
     * full precision, in ISO form), and that text back as the column's type.
     */
    const sorts = {
      created: { column: sql`b.id`, text: sql`b.id::text`, typed: (v: string) => sql`${v}::uuid` },
      bandUid: { column: sql`b.band_uid`, text: sql`b.band_uid`, typed: (v: string) => sql`${v}::text` },
      registrantName: {
        column: sql`r.name`,
        text: sql`r.name`,
        typed: (v: string) => sql`${v}::text`
      },
      lastTapAt: {
        column: sql`b.last_tap_at`,
        text: sql`to_char(b.last_tap_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
        typed: (v: string) => sql`${v}::timestamptz`
      }
    } as const

    /**
     * The order of a sorted list, and the rows after a page's last one. Bands without the value come last in
     * either direction; ties are broken by id in the same direction. `created` is the id order alone (the
     * primary key's index, as the list always had).
     */
    const ordering = (query: BandQuery) => {
      const { column, typed } = sorts[query.sort]
      const direction = query.order === "asc" ? sql`asc` : sql`desc`
      const beyond = query.order === "asc" ? sql`>` : sql`<`
      const at = query.after
      if (query.sort === "created") {
        return {
          after: at === null ? sql`` : sql`and b.id ${beyond} ${at.id}`,
          orderBy: sql`b.id ${direction}`
        }
      }
      return {
        after:
          at === null
            ? sql``
            : at.value === null
              ? sql`and ${column} is null and b.id ${beyond} ${at.id}`
              : sql`and (${column} is null or ${column} ${beyond} ${typed(at.value)}
                  or (${column} = ${typed(at.value)} and b.id ${beyond} ${at.id}))`,
        orderBy: sql`(${column} is null), ${column} ${direction}, b.id ${direction}`
      }
    }

    const list = (organizationId: OrganizationId, query: BandQuery) => {
      const like = query.q === undefined ? null : query.q.replace(/[\\%_]/g, "\\$&")
      const activity =
        query.activity === undefined
          ? sql``
          : query.activity === "tapped"
            ? sql`and b.tap_count > 0`
            : sql`and b.tap_count = 0`
      const { after, orderBy } = ordering(query)
      return rowsOrDie(
        SqlSchema.findAll({
          Request: OrganizationId,
          Result: ListedBand,
          execute: (organizationId) => sql`
        select ${viewColumns}, ${sorts[query.sort].text} as sort_key from bands b ${registrantJoin}
        where b.organization_id = ${organizationId}
          and b.deleted_at is ${query.deleted ? sql`not null` : sql`null`}
          ${query.eventId === undefined ? sql`` : sql`and b.event_id = ${query.eventId}`}
          ${query.flagged === undefined ? sql`` : sql`and b.flagged = ${query.flagged}`}
          ${query.autoAssigned === undefined ? sql`` : sql`and b.auto_assigned = ${query.autoAssigned}`}
          ${
            query.tagId === undefined
              ? sql``
              : sql`and exists (select 1 from band_tags t where t.band_id = b.id and t.tag_id = ${query.tagId})`
          }
          ${activity}
          ${
            like === null
              ? sql``
              : sql`and (b.band_uid like ${`${like}%`} or r.name ilike ${`%${like}%`}
                  or r.email ilike ${`%${like}%`})`
          }
          ${after}
        order by ${orderBy} limit ${query.limit + 1}`
        })(organizationId)
      )
    }

    /** `deleted` looks in the trash. */
    const find = (organizationId: OrganizationId, id: BandId, options: { readonly deleted?: boolean } = {}) =>
      sql`${view} where b.id = ${id} and b.organization_id = ${organizationId}
        and b.deleted_at is ${options.deleted ? sql`not null` : sql`null`}`.pipe(
        Effect.map((rows) => rows[0])
      )

    /** Takes the band (trashed or not) for the rest of the transaction. */
    const lock = (organizationId: OrganizationId, id: BandId) =>
      sql`select 1 from bands where id = ${id} and organization_id = ${organizationId} for update`

    const updateColumns = (id: BandId, columns: Readonly<Record<string, unknown>>) =>
      sql`update bands set ${sql.update(columns)}, updated_at = now() where id = ${id}`

    const setDeleted = (id: BandId, deleted: boolean) =>
      sql`update bands set deleted_at = ${deleted ? sql`now()` : sql`null`}, updated_at = now() where id = ${id}`

    /** Deletes the band for good (its tags go with it); its taps and rollups stay. */
    const purge = (id: BandId) => sql`delete from bands where id = ${id}`

    /** The band ids an event holds, trashed or not: the read model entries its purge changes. */
    const uidsOfEvent = (eventId: EventId) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: EventId,
          Result: Schema.Struct({ bandUid: Schema.String }),
          execute: (eventId) => sql`select distinct band_uid from bands where event_id = ${eventId}`
        })(eventId)
      ).pipe(Effect.map((rows) => rows.map((row) => row.bandUid)))

    /** Bands in the trash since before `before`, across organisations, oldest first (the purge job). */
    const trashedBefore = (before: Date, limit: number) =>
      rowsOrDie(
        SqlSchema.findAll({
          Request: Schema.DateFromSelf,
          Result: Schema.Struct({ id: BandId, organizationId: OrganizationId }),
          execute: (before) => sql`
        select id, organization_id from bands where deleted_at < ${before}
        order by deleted_at limit ${limit}`
        })(before)
      )

    const clearFlag = (id: BandId) =>
      sql`update bands set flagged = false, flag_reason = null, updated_at = now() where id = ${id}`

    const setTags = (organizationId: OrganizationId, id: BandId, tagIds: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        yield* sql`delete from band_tags where band_id = ${id}`
        if (tagIds.length === 0) return
        yield* sql`insert into band_tags (band_id, tag_id, organization_id)
          select ${id}, tag, ${organizationId} from unnest(${tagIds}::uuid[]) as t(tag)`
      })

    /**
     * Moves bands to another event, in one transaction with the caller: bands already in it stay, and a band
     * whose id the target event already holds is a conflict (the pair event + band id is unique).
     */
    const reassign = (organizationId: OrganizationId, ids: ReadonlyArray<string>, eventId: EventId) =>
      Effect.gen(function* () {
        const found = yield* rowsOrDie(
          SqlSchema.findAll({
            Request: OrganizationId,
            Result: BandKey,
            execute: (organizationId) => sql`
          select id, band_uid from bands where id = any(${ids}::uuid[])
            and organization_id = ${organizationId} and deleted_at is null
          order by id for update`
          })(organizationId)
        )
        const foundIds = found.map((band) => band.id)
        const moved = yield* rowsOrDie(
          SqlSchema.findAll({
            Request: EventId,
            Result: BandKey,
            execute: (eventId) => sql`
          update bands b set event_id = ${eventId}, updated_at = now()
          where b.id = any(${foundIds}::uuid[]) and b.event_id <> ${eventId}
            and not exists (select 1 from bands o where o.event_id = ${eventId} and o.band_uid = b.band_uid)
          returning b.id, b.band_uid`
          })(eventId)
        )
        const inTarget = yield* rowsOrDie(
          SqlSchema.findAll({
            Request: EventId,
            Result: Schema.Struct({ id: BandId }),
            execute: (eventId) => sql`
          select id from bands where id = any(${foundIds}::uuid[]) and event_id = ${eventId}`
          })(eventId)
        )
        const settled = new Set([...moved, ...inTarget].map((band) => band.id))
        return {
          moved: moved.map((band) => band.id),
          conflicts: foundIds.filter((id) => !settled.has(id)),
          uids: found.map((band) => band.bandUid)
        }
      })

    /** The band's taps, newest first. */
    const taps = (
      organizationId: OrganizationId,
      id: BandId,
      query: { readonly after: string | null; readonly limit: number }
    ) =>
      sql`
        select id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind, destination_url,
          tapped_at, user_agent, host(client_ip) as client_ip, is_bot, is_duplicate,
          json_strip_nulls(json_build_object('source', utm_source, 'medium', utm_medium, 'campaign', utm_campaign,
            'term', utm_term, 'content', utm_content)) as utm
        from taps where band_id = ${id} and organization_id = ${organizationId}
          ${query.after === null ? sql`` : sql`and id < ${query.after}`}
        order by id desc limit ${query.limit + 1}`

    return {
      findByUid,
      findAllByUid,
      insertUids,
      countByEvent,
      list,
      find,
      lock,
      updateColumns,
      setDeleted,
      purge,
      uidsOfEvent,
      trashedBefore,
      clearFlag,
      setTags,
      reassign,
      taps
    } as const
  })
}) {}
