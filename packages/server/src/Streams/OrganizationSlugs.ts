import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { TapRecord } from "../Taps/TapRecord.js"

export interface Organization {
  readonly id: string
  readonly slug: string
}

const isUuid = (text: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)

/** How long a slug is trusted: a renamed organisation's routing keys follow within this. */
const TRUST_MS = 60_000

/**
 * The organisation of each tap of a batch, with its slug (brokers route by it): from the tap's id, or, for a
 * tap served while the organisation could not be told, from its reference as the writer resolves it
 * (TapStore.attribute). Slugs are kept for a minute, so a steady stream costs no query.
 */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const known = new Map<string, { readonly organization: Organization; readonly at: number }>()

  const keyOf = (tap: TapRecord) => (tap.orgId === null ? (tap.orgRef ?? "") : `id:${tap.orgId}`)

  /** Each tap's organisation, or undefined for one PostgreSQL does not know (the writer drops it too). */
  const of = (taps: ReadonlyArray<TapRecord>) =>
    Effect.gen(function* () {
      const now = Date.now()
      const missing = [...new Set(taps.map(keyOf))].filter((key) => {
        const entry = known.get(key)
        return entry === undefined || now - entry.at > TRUST_MS
      })
      if (missing.length > 0) {
        // A reference from a URL may be anything: what is not a uuid names nothing, rather than failing the query.
        const ids = missing
          .filter((key) => key.startsWith("id:"))
          .map((key) => key.slice(3))
          .filter(isUuid)
        const slugs = missing.filter((key) => key.startsWith("slug:")).map((key) => key.slice(5))
        const events = missing
          .filter((key) => key.startsWith("event:"))
          .map((key) => key.slice(6))
          .filter(isUuid)
        const rows = yield* sql<{ key: string; id: string; slug: string }>`
          select 'id:' || id as key, id, slug from organizations where id = any(${ids}::uuid[])
          union all
          select 'slug:' || slug, id, slug from organizations
          where slug = any(${slugs}::text[]) and deleted_at is null
          union all
          select 'event:' || e.id, o.id, o.slug from events e join organizations o on o.id = e.organization_id
          where e.id = any(${events}::uuid[])`
        for (const row of rows) known.set(row.key, { organization: { id: row.id, slug: row.slug }, at: now })
      }
      return taps.map((tap) => known.get(keyOf(tap))?.organization)
    })

  return { of } as const
})
