import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { TapRecord } from "./TapRecord.js"

/** An organisation as the tap pipeline's readers need it: its id, and its slug (brokers route by it). */
export interface OrganizationRef {
  readonly id: string
  readonly slug: string
}

const isUuid = (text: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)

/**
 * What names a tap's organisation: its id when the hot path knew it, else the reference the URL gave
 * (`slug:…`, `event:…`, TapRecord.orgRef). The one key the writer and the broker sinks resolve by.
 */
export const keyOf = (tap: TapRecord): string => (tap.orgId === null ? (tap.orgRef ?? "") : `id:${tap.orgId}`)

/**
 * The organisation each key names, in one query; a key naming nothing (an unknown slug, a deleted
 * organisation's slug, anything that is not a uuid where one is expected) is absent from the answer. A
 * reference comes from a URL and may be anything: it names nothing rather than failing the query.
 */
export const resolve = (keys: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const after = (prefix: string) =>
      keys.filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length))
    const ids = after("id:").filter(isUuid)
    const slugs = after("slug:")
    const events = after("event:").filter(isUuid)
    const found = new Map<string, OrganizationRef>()
    if (ids.length + slugs.length + events.length === 0) return found
    const rows = yield* sql<{ key: string; id: string; slug: string }>`
      select 'id:' || id as key, id, slug from organizations where id = any(${ids}::uuid[])
      union all
      select 'slug:' || slug, id, slug from organizations where slug = any(${slugs}::text[]) and deleted_at is null
      union all
      select 'event:' || e.id, o.id, o.slug from events e join organizations o on o.id = e.organization_id
      where e.id = any(${events}::uuid[])`
    for (const row of rows) found.set(row.key, { id: row.id, slug: row.slug })
    return found
  })
