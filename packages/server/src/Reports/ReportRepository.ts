import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** An activations row as PostgreSQL returns it (camelCase). */
export interface ActivationRow {
  readonly id: string
  readonly organizationId: string
  readonly name: string
  readonly bandIds: ReadonlyArray<string>
  readonly tagIds: ReadonlyArray<string>
  readonly windowIds: ReadonlyArray<string>
  readonly startsAt: Date
  readonly endsAt: Date
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface ReportRow {
  readonly id: string
  readonly organizationId: string
  readonly activationId: string
  readonly issuedAt: Date
  readonly document: string
  readonly signature: string
  readonly keyId: string
  readonly jsonObjectKey: string
  readonly pdfObjectKey: string
}

/** The only SQL on `activations` and `reports`. Every statement names the organisation: a foreign id finds nothing. */
export class ReportRepository extends Effect.Service<ReportRepository>()("@tapline/server/ReportRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const listActivations = (organizationId: string, after: string | null, limit: number) =>
      sql<ActivationRow>`
        select * from activations where organization_id = ${organizationId}
          ${after === null ? sql`` : sql`and id < ${after}`}
        order by id desc limit ${limit + 1}`

    const findActivation = (organizationId: string, id: string, lock = false) =>
      Effect.map(
        sql<ActivationRow>`
          select * from activations where id = ${id} and organization_id = ${organizationId}
          ${lock ? sql`for update` : sql``}`,
        (rows) => rows[0]
      )

    const insertActivation = (row: {
      readonly organizationId: string
      readonly name: string
      readonly bandIds: ReadonlyArray<string>
      readonly tagIds: ReadonlyArray<string>
      readonly windowIds: ReadonlyArray<string>
      readonly startsAt: Date
      readonly endsAt: Date
    }) =>
      Effect.map(
        sql<ActivationRow>`
          insert into activations (organization_id, name, band_ids, tag_ids, window_ids, starts_at, ends_at)
          values (${row.organizationId}, ${row.name}, ${[...row.bandIds]}::uuid[], ${[...row.tagIds]}::uuid[],
            ${[...row.windowIds]}::uuid[], ${row.startsAt}, ${row.endsAt})
          returning *`,
        (rows) => rows[0]!
      )

    const updateActivation = (
      id: string,
      row: Omit<Parameters<typeof insertActivation>[0], "organizationId">
    ) =>
      sql<ActivationRow>`
        update activations set name = ${row.name}, band_ids = ${[...row.bandIds]}::uuid[],
          tag_ids = ${[...row.tagIds]}::uuid[], window_ids = ${[...row.windowIds]}::uuid[],
          starts_at = ${row.startsAt}, ends_at = ${row.endsAt}, updated_at = now()
        where id = ${id} returning *`

    const deleteActivation = (id: string) => sql`delete from activations where id = ${id}`

    /** How many of `ids` are rows of `table` in the organisation (the selection's ids must all be). */
    const countOwned = (
      table: "bands" | "tags" | "windows",
      organizationId: string,
      ids: ReadonlyArray<string>
    ) =>
      ids.length === 0
        ? Effect.succeed(0)
        : Effect.map(
            sql<{ n: string }>`
              select count(*) as n from ${sql(table)}
              where organization_id = ${organizationId} and id = any(${[...ids]}::uuid[])`,
            (rows) => Number(rows[0]?.n ?? 0)
          )

    const organizationName = (organizationId: string) =>
      Effect.map(
        sql<{ name: string }>`select name from organizations where id = ${organizationId}`,
        (rows) => rows[0]?.name ?? ""
      )

    const insertReport = (row: ReportRow) =>
      Effect.map(
        sql<ReportRow>`
          insert into reports (id, organization_id, activation_id, issued_at, document, signature, key_id,
            json_object_key, pdf_object_key)
          values (${row.id}, ${row.organizationId}, ${row.activationId}, ${row.issuedAt}, ${row.document},
            ${row.signature}, ${row.keyId}, ${row.jsonObjectKey}, ${row.pdfObjectKey})
          returning *`,
        (rows) => rows[0]!
      )

    const listReports = (organizationId: string, activationId: string, after: string | null, limit: number) =>
      sql<ReportRow>`
        select * from reports where organization_id = ${organizationId} and activation_id = ${activationId}
          ${after === null ? sql`` : sql`and id < ${after}`}
        order by id desc limit ${limit + 1}`

    const findReport = (organizationId: string, id: string) =>
      Effect.map(
        sql<ReportRow>`select * from reports where id = ${id} and organization_id = ${organizationId}`,
        (rows) => rows[0]
      )

    return {
      listActivations,
      findActivation,
      insertActivation,
      updateActivation,
      deleteActivation,
      countOwned,
      organizationName,
      insertReport,
      listReports,
      findReport
    } as const
  })
}) {}
