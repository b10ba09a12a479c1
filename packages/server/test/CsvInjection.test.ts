import { expect, layer } from "@effect/vitest"
import { neutralizeFormula } from "@tapline/domain"
import { parse } from "csv-parse/sync"
import { Effect } from "effect"
import { v7 as uuidv7 } from "uuid"
import type { TapRecord } from "../src/Taps/TapRecord.js"
import { TapStore } from "../src/Taps/TapStore.js"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 12, item 8: anyone who can tap writes the user agent and utm values of a tap, and any editor the
 * names in the audit log; organisers open the exports in a spreadsheet, which runs a cell starting with
 * = + - @ (or a tab or CR before one) as a formula.
 */

const HOSTILE = ['=HYPERLINK("https://evil.example","x")', "@SUM(1+1)", "+1+1", "-2+3", "\t=1", "\r=1"]

layer(adminHarness(), { excludeTestServices: true, timeout: 120_000 })("CSV formula injection", (it) => {
  it.effect("taps and audit exports neutralise cells that a spreadsheet would run", () =>
    Effect.gen(function* () {
      const store = yield* TapStore
      const tenant = yield* createTenant(yield* bootstrapKey("csv-injection@example.com"))
      const org = `/api/v1/organizations/${tenant.orgId}`
      const key = tenant.keys.EDITOR
      const event = yield* ok(yield* call("POST", `${org}/events`, { key, body: { name: HOSTILE[0] } }), 201)
      const eventId = event.body.id as string
      yield* call("PATCH", `${org}/events/${eventId}`, {
        key,
        body: { name: HOSTILE[1] },
        headers: { "user-agent": "=cmd|'/C calc'!A0" }
      })
      const taps: Array<TapRecord> = HOSTILE.map((text, i) => ({
        id: uuidv7(),
        orgId: tenant.orgId,
        eventId,
        bandId: null,
        bandUid: `CSV-${i}`,
        windowId: null,
        mode: null,
        kind: "ORG",
        url: "https://example.com/",
        at: Date.now() + i,
        ua: text,
        ip: null,
        utm: { source: text, campaign: "plain" },
        bot: false,
        dup: false,
        assign: null
      }))
      yield* store.store(taps)

      const tapsCsv = yield* call("GET", `${org}/analytics/events/${eventId}/taps.csv`, { key })
      const rows = parse(tapsCsv.text, { columns: true }) as Array<Record<string, string>>
      expect(rows.map((row) => row.user_agent)).toEqual(HOSTILE.map((text) => `'${text}`))
      expect(rows.map((row) => row.utm_source)).toEqual(HOSTILE.map((text) => `'${text}`))
      expect(rows.map((row) => row.utm_campaign)).toEqual(HOSTILE.map(() => "plain"))

      const auditCsv = yield* call("GET", `${org}/audit/export?resourceId=${eventId}`, {
        key: tenant.keys.OWNER
      })
      const audit = parse(auditCsv.text, { columns: true }) as Array<Record<string, string>>
      expect(audit.map((row) => row.action).sort()).toEqual(["event.create", "event.update"])
      const update = audit.find((row) => row.action === "event.update")!
      expect(update.user_agent).toBe("'=cmd|'/C calc'!A0")
      // The values column is JSON ({…}): nothing to run, left as it is.
      expect(update.new_values?.startsWith("{")).toBe(true)
      expect(update.new_values).toContain("@SUM")
    }).pipe(Effect.provide(TapStore.Default))
  )

  it.effect("only the dangerous first characters are touched", () =>
    Effect.sync(() => {
      expect(neutralizeFormula("Mozilla/5.0")).toBe("Mozilla/5.0")
      expect(neutralizeFormula("a=b")).toBe("a=b")
      expect(neutralizeFormula("")).toBe("")
      for (const text of HOSTILE) expect(neutralizeFormula(text)).toBe(`'${text}`)
    })
  )
})
