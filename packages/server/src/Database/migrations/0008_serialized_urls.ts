import * as SqlClient from "@effect/sql/SqlClient"
import { normalizeHttpUrl, stripControlCharacters } from "@tapline/domain"
import { Effect } from "effect"

/*
 * Redirect targets were stored as typed, and a URL with CR/LF or a character above U+00FF made Node refuse
 * the Location header and the process exit on the next tap. From now on only the serialised form is stored
 * (the HttpUrl schema decodes to `new URL(x).href`); this rewrites the rows already there and makes
 * PostgreSQL refuse anything but printable ASCII, so no other writer can bring the problem back. The updates
 * bump read_model_versions through the existing triggers, so the start-up rebuild re-projects those tenants.
 */

/** Rows written before the schema refused control characters: drop them, then serialise. */
export const serializeStoredUrl = (raw: string): string => {
  const stripped = stripControlCharacters(raw)
  const normalized = normalizeHttpUrl(stripped)
  if (normalized !== null) return normalized
  // Not parseable even so (never accepted by the API): keep it recognisable but header-safe.
  return stripped.replace(/[^!-~]/gu, (c) => encodeURIComponent(c))
}

const PRINTABLE = `'^[!-~]+$'`

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rewrite = (table: string, column: string) =>
    Effect.gen(function* () {
      const rows = yield* sql<{ id: string; url: string }>`
        select id, ${sql(column)} as url from ${sql(table)} where ${sql(column)} is not null`
      for (const row of rows) {
        const serialized = serializeStoredUrl(row.url)
        if (serialized !== row.url) {
          yield* sql`update ${sql(table)} set ${sql(column)} = ${serialized} where id = ${row.id}`
        }
      }
      yield* sql.unsafe(
        `alter table ${table} add constraint ${table}_${column}_printable check (${column} ~ ${PRINTABLE})`
      )
    })
  yield* rewrite("windows", "url")
  yield* rewrite("events", "fallback_url")
  yield* rewrite("organizations", "website_url")

  const logos = yield* sql<{ id: string; url: string }>`
    select id, branding->>'logoUrl' as url from organizations where branding ? 'logoUrl'`
  for (const row of logos) {
    const serialized = serializeStoredUrl(row.url)
    if (serialized !== row.url) {
      yield* sql`
        update organizations set branding = jsonb_set(branding, '{logoUrl}', to_jsonb(${serialized}::text))
        where id = ${row.id}`
    }
  }
})
