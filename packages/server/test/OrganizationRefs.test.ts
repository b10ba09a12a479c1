import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as OrganizationSlugs from "../src/Streams/OrganizationSlugs.js"
import * as OrganizationRefs from "../src/Taps/OrganizationRefs.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"
import { MigratedDatabase } from "./support/TestDatabase.js"

/*
 * The writer and the broker sinks find a tap's organisation by one resolver: by id, by the slug or event its
 * URL named. A reference is whatever a URL carried; one that names nothing is absent, never a failed query
 * (which would fail the writer's whole batch).
 */

const tap = (orgId: string | null, orgRef?: string): TapRecord =>
  ({ id: crypto.randomUUID(), orgId, ...(orgRef === undefined ? {} : { orgRef }) }) as unknown as TapRecord

layer(MigratedDatabase, { timeout: 60_000 })("organisation references", (it) => {
  it.effect("resolves ids, slugs and events; garbage and deleted organisations name nothing", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const slug = `refs-${Date.now()}`
      const [org] = yield* sql<{ id: string }>`
        insert into organizations (slug, name) values (${slug}, 'Refs') returning id`
      const [gone] = yield* sql<{ id: string }>`
        insert into organizations (slug, name, deleted_at) values (${`${slug}-gone`}, 'Gone', now()) returning id`
      const [event] = yield* sql<{ id: string }>`
        insert into events (organization_id, name) values (${org!.id}, 'Refs') returning id`
      const keys = [
        `id:${org!.id}`,
        `slug:${slug}`,
        `event:${event!.id}`,
        `slug:${slug}-gone`,
        "event:not-a-uuid",
        "id:'; drop table taps; --",
        "event:\u0000",
        "",
        "slug:"
      ]
      const found = yield* OrganizationRefs.resolve(keys)
      const expected = { id: org!.id, slug }
      expect(Object.fromEntries(found)).toEqual({
        [`id:${org!.id}`]: expected,
        [`slug:${slug}`]: expected,
        [`event:${event!.id}`]: expected
      })
      expect(gone).toBeDefined()

      const slugs = yield* OrganizationSlugs.make
      const taps = [tap(org!.id), tap(null, `slug:${slug}`), tap(null, "event:nope"), tap(null)]
      expect(yield* slugs.of(taps)).toEqual([expected, expected, undefined, undefined])
    })
  )
})
