import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { Page } from "playwright-core"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { api, consoleBrowser, fieldError, go, rawSchemaErrors, shot } from "./support/ConsoleBrowser.js"

/*
 * Issue 30, the console's bands and audit screens in Chromium: a band flagged with a reason and unflagged by an
 * EDITOR (a VIEWER gets no such buttons, and the API refuses one anyway), the list sorted by the API from its
 * column headers, the import panel above the list, and the audit log naming who acted and showing only what
 * changed. Each form refuses one bad value per field next to that field, in words.
 */

const { port, origin, signedIn } = await consoleBrowser()

const FILE_REFUSED = /^Choose a CSV or JSON file that is not empty/

/**
 * A band's row. Its buttons are named "Flag" / "Unflag" (the row says which band: a screen reader reads the
 * row's Band cell with them), so the uid does not repeat in every cell's name.
 */
const rowOf = (page: Page, uid: string) =>
  page.locator("table.bands tbody tr", { has: page.getByRole("cell", { name: uid, exact: true }) })

/** The band ids in the table, top to bottom. */
const shownUids = (page: Page) =>
  go(() => page.locator("table.bands tbody tr td:first-child code").allTextContents())

/** The band ids in the API's order for `sort` and `order`. */
const apiOrder = (tenant: Tenant, sort: string, order: string) =>
  Effect.map(
    call("GET", api(tenant, `/bands?limit=100&sort=${sort}&order=${order}`), { key: tenant.keys.VIEWER }),
    (reply) => (reply.body.items as ReadonlyArray<{ bandUid: string }>).map((b) => b.bandUid)
  )

layer(adminHarness({ PORT: String(port), HOST: "127.0.0.1" }), {
  excludeTestServices: true,
  timeout: 120_000
})("console: bands and audit", (it) => {
  it.effect(
    "bands: flag and unflag, sorted by the API, the import above the list; the audit names and diffs",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const tenant = yield* createTenant(yield* bootstrapKey())
        const editor = yield* signedIn(tenant.orgId, "EDITOR", undefined, { name: "Erin Editor" })
        const page = editor.page
        // The import form before the organisation has an event: no event, no file, each refused by its field.
        yield* go(() => page.goto(`${origin}/console/bands`))
        yield* go(() => page.getByText("No bands match.").waitFor())
        yield* go(() => page.getByRole("button", { name: "Import", exact: true }).click())
        expect(yield* fieldError(page, "band-import-event")).toBe(
          "Choose the event the bands go into (create one first)."
        )
        expect(yield* fieldError(page, "band-import-file")).toMatch(FILE_REFUSED)
        expect(yield* rawSchemaErrors(page)).toBeNull()

        const event = yield* ok(
          yield* call("POST", api(tenant, "/events"), { key: tenant.keys.EDITOR, body: { name: "Quay" } }),
          201
        )
        const rows = [
          { bandUid: "Q-3", registrantName: "Cleo" },
          { bandUid: "Q-1", registrantName: "Bo" },
          { bandUid: "Q-2", registrantName: "Ana" },
          { bandUid: "Q-4" }
        ]
        yield* ok(
          yield* call("POST", api(tenant, `/events/${event.body.id}/bands/import`), {
            key: tenant.keys.EDITOR,
            body: { bands: rows }
          }),
          200
        )
        yield* go(() => page.reload())
        yield* go(() => page.getByRole("cell", { name: "Q-4", exact: true }).waitFor())

        // The import panel comes before the list.
        const importFirst = yield* go(() =>
          page.evaluate(() => {
            const doc = (globalThis as unknown as { document: { querySelector(s: string): unknown } })
              .document
            const panel = doc.querySelector("#import-heading") as {
              compareDocumentPosition(o: unknown): number
            }
            return (panel.compareDocumentPosition(doc.querySelector("table.bands")) & 4) === 4
          })
        )
        expect(importFirst).toBe(true)
        // With an event: an empty file is refused next to its field, the event is not.
        yield* go(() =>
          page
            .getByLabel("File")
            .setInputFiles({ name: "empty.csv", mimeType: "text/csv", buffer: Buffer.alloc(0) })
        )
        yield* go(() => page.getByRole("button", { name: "Import", exact: true }).click())
        expect(yield* fieldError(page, "band-import-file")).toMatch(FILE_REFUSED)
        expect(yield* go(() => page.locator('[data-field-error="band-import-event"]').count())).toBe(0)
        expect(yield* rawSchemaErrors(page)).toBeNull()

        // Sorting: each header asks the API, ascending then descending.
        for (const [header, sort] of [
          ["Band", "bandUid"],
          ["Registrant", "registrantName"]
        ] as const) {
          for (const [order, aria] of [
            ["asc", "ascending"],
            ["desc", "descending"]
          ] as const) {
            yield* go(() => page.getByRole("button", { name: `Sort by ${header}` }).click())
            yield* go(() => page.locator(`th[aria-sort="${aria}"]`, { hasText: header }).waitFor())
            const expected = yield* apiOrder(tenant, sort, order)
            yield* go(() =>
              page.waitForFunction(
                (want) =>
                  Array.from(
                    (
                      globalThis as unknown as {
                        document: { querySelectorAll(s: string): ArrayLike<{ textContent: string }> }
                      }
                    ).document.querySelectorAll("table.bands tbody tr td:first-child code")
                  )
                    .map((c) => c.textContent)
                    .join(",") === want,
                expected.join(",")
              )
            )
            expect(yield* shownUids(page)).toEqual(expected)
            expect(yield* go(() => page.locator("th[aria-sort]:not([aria-sort='none'])").count())).toBe(1)
          }
        }
        expect(yield* shownUids(page)).toEqual(["Q-3", "Q-1", "Q-2", "Q-4"])
        yield* shot(page, "console-bands-sorted")

        // Flag Q-1 with a reason: a reason too long is refused next to the field, then a good one is kept.
        yield* go(() => rowOf(page, "Q-1").getByRole("button", { name: "Flag", exact: true }).click())
        const reason = page.getByLabel("Reason for flagging Q-1")
        yield* go(() => reason.fill("x".repeat(501)))
        yield* go(() => page.getByRole("button", { name: "Save flag" }).click())
        expect(yield* fieldError(page, "band-flag-reason")).toBe(
          "A reason of at most 500 characters, on one line."
        )
        expect(yield* rawSchemaErrors(page)).toBeNull()
        yield* go(() => reason.fill("lost at the gate"))
        yield* go(() => page.getByRole("button", { name: "Save flag" }).click())
        yield* go(() => page.getByText("lost at the gate").waitFor())
        yield* go(() => rowOf(page, "Q-1").getByRole("button", { name: "Unflag", exact: true }).waitFor())
        yield* shot(page, "console-bands-flag")
        const q1 = yield* sql<{ flagged: boolean; flagReason: string | null }>`
        select flagged, flag_reason from bands where organization_id = ${tenant.orgId} and band_uid = 'Q-1'`
        expect(q1).toEqual([{ flagged: true, flagReason: "lost at the gate" }])

        // Unflag: the flag and its reason are gone.
        yield* go(() => rowOf(page, "Q-1").getByRole("button", { name: "Unflag", exact: true }).click())
        yield* go(() => rowOf(page, "Q-1").getByRole("button", { name: "Flag", exact: true }).waitFor())
        const q1After = yield* sql<{ flagged: boolean; flagReason: string | null }>`
        select flagged, flag_reason from bands where organization_id = ${tenant.orgId} and band_uid = 'Q-1'`
        expect(q1After).toEqual([{ flagged: false, flagReason: null }])

        // A VIEWER: no flag buttons, and the API refuses a flag.
        const viewer = yield* signedIn(tenant.orgId, "VIEWER")
        yield* go(() => viewer.page.goto(`${origin}/console/bands`))
        yield* go(() => viewer.page.getByRole("cell", { name: "Q-4", exact: true }).waitFor())
        expect(yield* go(() => viewer.page.getByRole("button", { name: /^(Un)?flag$/i }).count())).toBe(0)
        const bandId = (yield* sql<{ id: string }>`
        select id from bands where organization_id = ${tenant.orgId} and band_uid = 'Q-2'`)[0]!.id
        const refused = yield* call("PATCH", api(tenant, `/bands/${bandId}`), {
          key: tenant.keys.VIEWER,
          body: { flagged: true, flagReason: "no" }
        })
        expect(refused.status).toBe(403)

        // The audit log (OWNER): Erin's flag, with only what changed.
        const owner = yield* signedIn(tenant.orgId, "OWNER")
        yield* go(() => owner.page.goto(`${origin}/console/audit`))
        yield* go(() => owner.page.getByLabel("Action").fill("band.flag"))
        const row = owner.page.locator("tbody tr", { hasText: "band.flag" })
        yield* go(() => row.getByText("Erin Editor").waitFor())
        const changes = yield* go(() => row.locator("[data-testid=audit-changes] li").allTextContents())
        expect(changes).toEqual(["flagged: false → true", "flagReason: — → lost at the gate"])
        yield* go(() => owner.page.getByLabel("Action").fill(""))
        // A filter is bounded as the API is (100 characters); one that slipped past its bound is refused in
        // words, never with the schema's text.
        const action = owner.page.getByLabel("Action")
        yield* go(() => action.fill("a".repeat(150)))
        expect((yield* go(() => action.inputValue())).length).toBe(100)
        yield* go(() => action.evaluate((el) => el.removeAttribute("maxlength")))
        yield* go(() => action.fill("a".repeat(150)))
        yield* go(() => owner.page.getByRole("alert").filter({ hasText: "A value was refused" }).waitFor())
        expect(yield* rawSchemaErrors(owner.page)).toBeNull()
        yield* go(() => action.fill(""))
        // The import, made by the EDITOR's API key: its name, and the new values only.
        const imported = owner.page.locator("tbody tr", { hasText: "band.import" })
        yield* go(() => imported.getByText("editor", { exact: true }).waitFor())
        // (in the order PostgreSQL's jsonb keeps keys: by length)
        const importLines = yield* go(() =>
          imported.locator("[data-testid=audit-changes] li").allTextContents()
        )
        expect([...importLines].sort()).toEqual(["created: 4", "invalid: 0", "received: 4", "updated: 0"])
        yield* shot(owner.page, "console-audit-changes")
      })
  )
})
