import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { Effect } from "effect"
import { Sessions } from "../src/Auth/Sessions.js"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 30, the API under the console's bands and audit screens: a band flagged and unflagged through its
 * PATCH (audited as band.flag / band.unflag with the values before and after), the bands list sorted by the
 * API across pages (a whitelist of keys; anything else is a 400), and the audit log naming its actors.
 */

const org = (tenant: Tenant, path = "") => `/api/v1/organizations/${tenant.orgId}${path}`

/** A user of the organisation with a real session, and the headers a browser would send with it. */
const sessionOf = (tenant: Tenant, name: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const email = `${name.toLowerCase().replace(/\W/g, "")}-${Math.random().toString(36).slice(2, 8)}@example.com`
    const [user] = yield* sql<{ id: UserId }>`
      insert into users (email, name) values (${email}, ${name}) returning id`
    yield* sql`insert into memberships (user_id, organization_id, role) values (${user!.id}, ${tenant.orgId}, 'OWNER')`
    const tokens = yield* (yield* Sessions).create({
      userId: user!.id,
      method: "test",
      ip: null,
      userAgent: "t"
    })
    return {
      email,
      headers: {
        cookie: `tapline_session=${tokens.accessToken}; tapline_csrf=${tokens.csrfToken}`,
        "x-csrf-token": tokens.csrfToken
      }
    }
  }).pipe(Effect.provide(Sessions.Default))

layer(adminHarness(), { excludeTestServices: true, timeout: 60_000 })("bands and audit (issue 30)", (it) => {
  it.effect(
    "a band is flagged with a reason and unflagged through its PATCH, audited as flag and unflag",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("bands-flag@example.com"))
        const key = tenant.keys.EDITOR
        const event = yield* ok(
          yield* call("POST", org(tenant, "/events"), { key, body: { name: "F" } }),
          201
        )
        yield* ok(
          yield* call("POST", org(tenant, `/events/${event.body.id}/bands/import`), {
            key,
            body: { bands: [{ bandUid: "FL-1" }] }
          }),
          200
        )
        const bandId = (yield* call("GET", org(tenant, "/bands"), { key })).body.items[0].id as string
        const path = org(tenant, `/bands/${bandId}`)

        const flagged = yield* ok(
          yield* call("PATCH", path, { key, body: { flagged: true, flagReason: "lost at the gate" } }),
          200
        )
        expect([flagged.body.flagged, flagged.body.flagReason]).toEqual([true, "lost at the gate"])
        const listed = yield* call("GET", org(tenant, "/bands?flagged=true"), { key })
        expect(listed.body.items.map((b: { id: string }) => b.id)).toEqual([bandId])

        const unflagged = yield* ok(yield* call("PATCH", path, { key, body: { flagged: false } }), 200)
        // An absent option is left out of the JSON.
        expect([unflagged.body.flagged, unflagged.body.flagReason ?? null]).toEqual([false, null])

        // Refused: a reason too long, a control character, a reason without a flag; a VIEWER.
        for (const body of [
          { flagged: true, flagReason: "x".repeat(501) },
          { flagged: true, flagReason: "bad\u0000reason" },
          { flagged: true, flagReason: "line\nbreak" },
          { flagged: false, flagReason: "why" }
        ]) {
          expect((yield* call("PATCH", path, { key, body })).status, JSON.stringify(body)).toBe(400)
        }
        expect(
          (yield* call("PATCH", path, { key: tenant.keys.VIEWER, body: { flagged: true } })).status
        ).toBe(403)
        const band = (yield* call("GET", path, { key })).body
        expect([band.flagged, band.flagReason ?? null]).toEqual([false, null])

        const audit = yield* ok(
          yield* call("GET", org(tenant, `/audit?resourceId=${bandId}`), { key: tenant.keys.OWNER }),
          200
        )
        const entries = audit.body.items as ReadonlyArray<{
          action: string
          oldValues: Record<string, unknown>
          newValues: Record<string, unknown>
        }>
        expect(entries.map((e) => e.action)).toEqual(["band.unflag", "band.flag"])
        const [unflag, flag] = entries
        expect([flag!.oldValues.flagged, flag!.newValues.flagged, flag!.newValues.flagReason]).toEqual([
          false,
          true,
          "lost at the gate"
        ])
        expect([
          unflag!.oldValues.flagReason,
          unflag!.newValues.flagged,
          unflag!.newValues.flagReason
        ]).toEqual(["lost at the gate", false, null])
      })
  )

  it.effect("the bands list sorts by a whitelisted key in either order, across pages; others are a 400", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const tenant = yield* createTenant(yield* bootstrapKey("bands-sort@example.com"))
      const key = tenant.keys.VIEWER
      const event = yield* ok(
        yield* call("POST", org(tenant, "/events"), { key: tenant.keys.EDITOR, body: { name: "S" } }),
        201
      )
      const rows = [
        { bandUid: "S-3", registrantName: "Cleo" },
        { bandUid: "S-1", registrantName: "Ana" },
        { bandUid: "S-5" },
        { bandUid: "S-2", registrantName: "Bo" },
        { bandUid: "S-4", registrantName: "Ana" }
      ]
      // One import each: the ids (UUIDv7, the `created` order and the tie-break) follow this order.
      for (const row of rows) {
        yield* ok(
          yield* call("POST", org(tenant, `/events/${event.body.id}/bands/import`), {
            key: tenant.keys.EDITOR,
            body: { bands: [row] }
          }),
          200
        )
      }
      yield* sql`update bands set last_tap_at = now() - (substr(band_uid, 3)::int * interval '1 minute')
        where organization_id = ${tenant.orgId} and band_uid in ('S-1', 'S-2', 'S-4')`

      /** Every page of the list, two at a time, in the API's order. */
      const all = (query: string) =>
        Effect.gen(function* () {
          const uids: Array<string> = []
          let cursor: string | null = null
          do {
            const page: { body: { items: Array<{ bandUid: string }>; nextCursor: string | null } } =
              yield* ok(
                yield* call(
                  "GET",
                  org(tenant, `/bands?limit=2&${query}${cursor === null ? "" : `&cursor=${cursor}`}`),
                  { key }
                ),
                200,
                query
              )
            uids.push(...page.body.items.map((b) => b.bandUid))
            cursor = page.body.nextCursor
          } while (cursor !== null)
          return uids
        })

      expect(yield* all("sort=bandUid&order=asc")).toEqual(["S-1", "S-2", "S-3", "S-4", "S-5"])
      expect(yield* all("sort=bandUid&order=desc")).toEqual(["S-5", "S-4", "S-3", "S-2", "S-1"])
      // Ties broken by id in the same direction; bands without a registrant come last either way.
      expect(yield* all("sort=registrantName&order=asc")).toEqual(["S-1", "S-4", "S-2", "S-3", "S-5"])
      expect(yield* all("sort=registrantName&order=desc")).toEqual(["S-3", "S-2", "S-4", "S-1", "S-5"])
      expect(yield* all("sort=lastTapAt&order=desc")).toEqual(["S-1", "S-2", "S-4", "S-5", "S-3"])
      expect(yield* all("sort=lastTapAt&order=asc")).toEqual(["S-4", "S-2", "S-1", "S-3", "S-5"])
      expect(yield* all("sort=created&order=desc")).toEqual(["S-4", "S-2", "S-5", "S-1", "S-3"])
      expect(yield* all("")).toEqual(["S-3", "S-1", "S-5", "S-2", "S-4"])

      for (const query of ["sort=band_uid", "sort=registrant_name%3Bdrop", "order=up", "sort=flagged"]) {
        expect((yield* call("GET", org(tenant, `/bands?${query}`), { key })).status, query).toBe(400)
      }
      // A cursor of one order is not a cursor of another.
      const first = yield* call("GET", org(tenant, "/bands?limit=2&sort=bandUid"), { key })
      const mixed = yield* call(
        "GET",
        org(tenant, `/bands?limit=2&sort=lastTapAt&cursor=${first.body.nextCursor}`),
        {
          key
        }
      )
      expect(mixed.status).toBe(400)
    })
  )

  it.effect("audit entries name their actor: a user, an API key; another organisation's stay out", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey("audit-names@example.com")
      const tenant = yield* createTenant(admin)
      const other = yield* createTenant(admin)
      const user = yield* sessionOf(tenant, "Dana Organiser")
      yield* ok(
        yield* call("POST", org(tenant, "/events"), { headers: user.headers, body: { name: "By Dana" } }),
        201
      )
      yield* ok(
        yield* call("POST", org(tenant, "/events"), { key: tenant.keys.EDITOR, body: { name: "By key" } }),
        201
      )
      yield* ok(
        yield* call("POST", org(other, "/events"), { key: other.keys.EDITOR, body: { name: "Other" } }),
        201
      )

      const audit = yield* ok(
        yield* call("GET", org(tenant, "/audit?action=event.create"), { key: tenant.keys.OWNER }),
        200
      )
      const named = (
        audit.body.items as ReadonlyArray<{
          actorType: string
          actorName: string | null
          newValues: { name: string }
        }>
      ).map((e) => [e.newValues.name, e.actorType, e.actorName])
      expect(named).toEqual([
        ["By key", "api_key", "editor"],
        ["By Dana", "user", "Dana Organiser"]
      ])

      const csv = yield* ok(
        yield* call("GET", org(tenant, "/audit/export?action=event.create"), { key: tenant.keys.OWNER }),
        200
      )
      const [header, ...lines] = csv.text.trim().split("\n")
      expect(header).toContain("actor_id,actor_name,")
      expect(lines.some((line) => line.includes(",Dana Organiser,"))).toBe(true)
      expect(lines.some((line) => line.includes(",editor,"))).toBe(true)
      expect(csv.text).not.toContain("Other")
    })
  )
})
