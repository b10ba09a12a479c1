import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import * as OrganizationRefs from "../Taps/OrganizationRefs.js"
import type { TapRecord } from "../Taps/TapRecord.js"

export type Organization = OrganizationRefs.OrganizationRef

/** How long a slug is trusted: a renamed organisation's routing keys follow within this. */
const TRUST_MS = 60_000

/**
 * The organisation of each tap of a batch, with its slug (brokers route by it), resolved as the writer
 * resolves it (Taps/OrganizationRefs.ts). Slugs are kept for a minute, so a steady stream costs no query.
 */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const known = new Map<string, { readonly organization: Organization; readonly at: number }>()

  /** Each tap's organisation, or undefined for one PostgreSQL does not know (the writer drops it too). */
  const of = (taps: ReadonlyArray<TapRecord>) =>
    Effect.gen(function* () {
      const now = Date.now()
      const missing = [...new Set(taps.map(OrganizationRefs.keyOf))].filter((key) => {
        const entry = known.get(key)
        return entry === undefined || now - entry.at > TRUST_MS
      })
      if (missing.length > 0) {
        const found = yield* OrganizationRefs.resolve(missing)
        for (const key of missing) {
          const organization = found.get(key)
          // An organisation deleted, or a slug renamed, since: it names nothing now.
          if (organization === undefined) known.delete(key)
          else known.set(key, { organization, at: now })
        }
      }
      return taps.map((tap) => known.get(OrganizationRefs.keyOf(tap))?.organization)
    }).pipe(Effect.provideService(SqlClient.SqlClient, sql))

  return { of } as const
})
