import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { neutralizeFormula } from "@tapline/domain"
import { stringify } from "csv-stringify/sync"
import { Chunk, DateTime, Effect, Option, Stream } from "effect"
import { actorNameColumn, actorNameJoin } from "../Audit/AuditRepository.js"

/** What the taps and audit exports read; the same filters as their endpoints. */
export interface TapsExport {
  readonly kind: "taps"
  readonly eventId: string
  readonly from?: string | undefined
  readonly to?: string | undefined
}

export interface AuditExport {
  readonly kind: "audit"
  readonly action?: string | undefined
  readonly resourceType?: string | undefined
  readonly resourceId?: string | undefined
  readonly actorId?: string | undefined
  readonly from?: string | undefined
  readonly to?: string | undefined
}

export type ExportRequest = TapsExport | AuditExport

const TAP_COLUMNS = [
  "id",
  "tapped_at",
  "band_uid",
  "band_id",
  "window_id",
  "mode",
  "redirect_kind",
  "destination_url",
  "is_bot",
  "is_duplicate",
  "user_agent",
  "client_ip",
  "utm_source",
  "utm_medium",
  "utm_campaign",
  "utm_term",
  "utm_content"
] as const

const AUDIT_COLUMNS = [
  "id",
  "occurred_at",
  "actor_type",
  "actor_id",
  "actor_name",
  "action",
  "resource_type",
  "resource_id",
  "old_values",
  "new_values",
  "ip",
  "user_agent",
  "request_id",
  "trace_id"
] as const

/** A value as a cell: formulas neutralised by the rule the console's downloads share (@tapline/domain). */
const cell = (value: unknown) => {
  if (value === null || value === undefined) return ""
  if (value instanceof Date) return value.toISOString()
  return neutralizeFormula(typeof value === "object" ? JSON.stringify(value) : String(value))
}

// The client turns result columns into camelCase: read each column back by that name.
const camel = (column: string) => column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

/** A header line, then the rows as CSV text: nothing is held in memory but a page. */
const csv = <R>(
  columns: ReadonlyArray<string>,
  rows: Stream.Stream<unknown, SqlError.SqlError, R>
): Stream.Stream<string, SqlError.SqlError, R> => {
  const keys = columns.map(camel)
  return Stream.concat(
    Stream.make(stringify([[...columns]])),
    rows.pipe(
      Stream.mapChunks((chunk) =>
        Chunk.of(
          stringify([...chunk].map((row) => keys.map((key) => cell((row as Record<string, unknown>)[key]))))
        )
      )
    )
  )
}

/** Rows per query of an export. */
const PAGE_ROWS = 5_000

/**
 * The rows of a query a page at a time, each page one short statement that starts after the previous page's
 * last row. A cursor held for the whole export hit DATABASE_STATEMENT_TIMEOUT (30 s) as soon as its reader
 * was slower than that in total: a million taps uploaded to S3, or a slow client downloading them.
 */
const keysetPages = <Row>(
  page: (after: Row | undefined) => Effect.Effect<ReadonlyArray<Row>, SqlError.SqlError>
): Stream.Stream<Row, SqlError.SqlError> =>
  Stream.paginateChunkEffect(undefined as Row | undefined, (after) =>
    Effect.map(page(after), (rows) => [
      Chunk.unsafeFromArray([...rows]),
      rows.length < PAGE_ROWS ? Option.none() : Option.some(rows[rows.length - 1])
    ])
  )

const instant = (value: string | undefined) => (value === undefined ? undefined : new Date(value))

const range = (
  sql: SqlClient.SqlClient,
  column: string,
  from?: string,
  to?: string
): Statement.Fragment => sql`
  ${from === undefined ? sql`` : sql`and ${sql(column)} >= ${instant(from)}`}
  ${to === undefined ? sql`` : sql`and ${sql(column)} < ${instant(to)}`}`

/** The CSV of an export request, scoped to the organisation. */
export const exportCsv = (organizationId: string, request: ExportRequest) =>
  Stream.unwrap(
    Effect.map(SqlClient.SqlClient, (sql) => {
      if (request.kind === "taps") {
        // `tapped_key` carries the time at full precision (a Date keeps milliseconds) for the next page.
        return csv(
          TAP_COLUMNS,
          keysetPages<{ id: string; tappedKey: string }>(
            (after) => sql`
              select id, tapped_at, tapped_at::text as tapped_key, band_uid, band_id, window_id, mode,
                redirect_kind, destination_url, is_bot, is_duplicate, user_agent, host(client_ip) as client_ip,
                utm_source, utm_medium, utm_campaign, utm_term, utm_content
              from taps where event_id = ${request.eventId} and organization_id = ${organizationId}
                ${range(sql, "tapped_at", request.from, request.to)}
                ${after === undefined ? sql`` : sql`and (tapped_at, id) > (${after.tappedKey}::timestamptz, ${after.id})`}
              order by tapped_at, id limit ${PAGE_ROWS}`
          )
        )
      }
      return csv(
        AUDIT_COLUMNS,
        keysetPages<{ id: string }>(
          // The page is cut first, then its actors are named (the audit API's join).
          (after) => sql`
            select a.id, a.occurred_at, a.actor_type, a.actor_id, ${actorNameColumn(sql)}, a.action,
              a.resource_type, a.resource_id, a.old_values, a.new_values, host(a.ip) as ip, a.user_agent,
              a.request_id, a.trace_id
            from (select * from audit_log where organization_id = ${organizationId}
              ${request.action === undefined ? sql`` : sql`and action = ${request.action}`}
              ${request.resourceType === undefined ? sql`` : sql`and resource_type = ${request.resourceType}`}
              ${request.resourceId === undefined ? sql`` : sql`and resource_id = ${request.resourceId}`}
              ${request.actorId === undefined ? sql`` : sql`and actor_id = ${request.actorId}`}
              ${range(sql, "occurred_at", request.from, request.to)}
              ${after === undefined ? sql`` : sql`and id > ${after.id}`}
              order by id limit ${PAGE_ROWS}) a
            ${actorNameJoin(sql)}
            order by a.id`
        )
      )
    })
  )

/** DateTime filters as the ISO strings an export request stores. */
export const iso = (value: DateTime.Utc | undefined) =>
  value === undefined ? undefined : DateTime.formatIso(value)
