import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Jobs } from "../src/Jobs/Jobs.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"
import { TapStore } from "../src/Taps/TapStore.js"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import {
  answerConfirm,
  api,
  consoleBrowser,
  fieldError,
  go,
  PHONE,
  rawSchemaErrors,
  refusedField,
  shot,
  sidewaysOverflow,
  unlabelled
} from "./support/ConsoleBrowser.js"
import { tapOf } from "./support/TapFixtures.js"
import { ANDROID, IPHONE } from "./support/UserAgents.js"

/*
 * Issue 30, the event's screens: every setting edited in the console (a searchable time-zone picker), the
 * irreversible moves behind a confirmation, every form's refused values next to their fields, the windows
 * timeline readable on a phone, chart axes in the event's time zone, and the device breakdown.
 */

const { port, origin, browser, signedIn } = await consoleBrowser()

const HOUR = 3_600_000

/** The event as the API has it. */
const eventOf = (tenant: Tenant, eventId: string) =>
  call("GET", api(tenant, `/events/${eventId}`), { key: tenant.keys.VIEWER })

layer(adminHarness({ PORT: String(port), HOST: "127.0.0.1" }), {
  excludeTestServices: true,
  timeout: 120_000
})("console: the event", (it) => {
  it.effect(
    "event settings: every setting saved, a refused value per field, the zone searched by keys",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const created = yield* ok(
          yield* call("POST", api(tenant, "/events"), {
            key: tenant.keys.EDITOR,
            body: { name: "Harbour Lights" }
          }),
          201
        )
        const eventId = created.body.id as string
        const windowsPath = api(tenant, `/events/${eventId}/windows`)
        for (const [title, from] of [
          ["Doors", 0],
          ["Encore", 2]
        ] as const)
          yield* ok(
            yield* call("POST", windowsPath, {
              key: tenant.keys.EDITOR,
              body: {
                type: "LIVE",
                title,
                url: `https://harbour.example/${title.toLowerCase()}`,
                startsAt: new Date(Date.UTC(2026, 6, 4, 18 + from)).toISOString(),
                endsAt: new Date(Date.UTC(2026, 6, 4, 19 + from)).toISOString()
              }
            }),
            201
          )
        const { page } = yield* signedIn(tenant.orgId, "EDITOR")
        yield* go(() => page.goto(`${origin}/console/events/${eventId}`))
        const form = page.getByRole("form", { name: "Event settings" })
        yield* go(() => form.waitFor())

        // One refused value per field, each shown next to its field in words, never the schema's text.
        const save = "Save settings"
        expect(yield* refusedField(page, "event-name", { value: "", submit: save })).toMatch(/name/i)
        yield* go(() => page.locator("#event-name").fill("Harbour Lights II"))
        expect(
          yield* refusedField(page, "event-fallback-url", { value: "javascript:alert(1)", submit: save })
        ).toMatch(/https?:\/\//)
        expect(yield* refusedField(page, "event-fallback-url", { value: "not a url", submit: save })).toMatch(
          /https?:\/\//
        )
        yield* go(() => page.locator("#event-fallback-url").fill("https://harbour.example/home"))
        expect(yield* refusedField(page, "event-latitude", { value: "200", submit: save })).toMatch(
          /-90 and 90/
        )
        yield* go(() => page.locator("#event-latitude").fill("38.7071"))
        expect(yield* refusedField(page, "event-longitude", { value: "-181", submit: save })).toMatch(
          /-180 and 180/
        )
        yield* go(() => page.locator("#event-longitude").fill("-9.1355"))
        expect(yield* refusedField(page, "event-attendees", { value: "-3", submit: save })).toMatch(
          /whole number/
        )
        yield* go(() => page.locator("#event-attendees").fill("4000"))
        expect(
          yield* refusedField(page, "event-timezone", { value: "Mars/Olympus_Mons", submit: save })
        ).toMatch(/time zone/i)

        // The time zone, searched: typed letters filter the list, arrows move, Enter picks.
        const zone = page.locator("#event-timezone")
        yield* go(() => zone.fill("toky"))
        const list = page.getByRole("listbox", { name: "Zones matching what you typed" })
        yield* go(() => list.getByRole("option", { name: "Asia/Tokyo" }).waitFor())
        expect(yield* go(() => zone.getAttribute("aria-expanded"))).toBe("true")
        yield* go(() => zone.press("ArrowDown"))
        expect(yield* go(() => zone.getAttribute("aria-activedescendant"))).toBeTruthy()
        yield* shot(page, "console-timezone-picker")
        yield* go(() => zone.press("Enter"))
        expect(yield* go(() => zone.inputValue())).toBe("Asia/Tokyo")
        expect(yield* go(() => zone.getAttribute("aria-expanded"))).toBe("false")

        expect(yield* refusedField(page, "event-venue", { value: "v".repeat(201), submit: save })).toMatch(
          /200 characters/
        )
        yield* go(() => page.locator("#event-venue").fill("Pier 4"))
        expect(yield* refusedField(page, "event-address", { value: "a".repeat(501), submit: save })).toMatch(
          /500 characters/
        )
        yield* go(() => page.locator("#event-address").fill(""))
        yield* go(() => page.locator("#event-starts-at").fill("2026-07-04T18:00"))
        expect(
          yield* refusedField(page, "event-ends-at", { value: "2026-07-04T17:00", submit: save })
        ).toMatch(/end after it starts/)
        yield* go(() => page.locator("#event-ends-at").fill("2026-07-04T23:30"))
        // Manual mode offers the event's windows to choose the live one from.
        expect(yield* go(() => page.locator("#event-manual-window").count())).toBe(0)
        yield* go(() => page.locator("#event-schedule-mode").selectOption("manual"))
        yield* go(() => page.locator("#event-manual-window").selectOption({ label: "Encore" }))
        yield* go(() => page.getByLabel("Go live at the start and complete at the end by itself").check())
        yield* go(() => page.getByLabel("Flagged bands (far from the venue) still go to this event").check())
        expect(yield* unlabelled(page)).toEqual([])
        yield* go(() => page.getByRole("button", { name: save }).click())
        yield* go(() => page.getByText("Settings saved.").waitFor())
        expect(yield* rawSchemaErrors(page)).toBeNull()
        yield* go(() => page.getByText("Times in Asia/Tokyo.").waitFor())
        yield* shot(page, "console-event-settings")

        const event = (yield* eventOf(tenant, eventId)).body
        const windows = (yield* ok(yield* call("GET", windowsPath, { key: tenant.keys.VIEWER }), 200)).body
        const encore = windows.items.find((w: { title: string }) => w.title === "Encore").id
        expect(event).toMatchObject({
          name: "Harbour Lights II",
          fallbackUrl: "https://harbour.example/home",
          venue: "Pier 4",
          latitude: 38.7071,
          longitude: -9.1355,
          estimatedAttendees: 4000,
          timezone: "Asia/Tokyo",
          scheduleMode: "manual",
          manualWindowId: encore,
          autoLifecycle: true,
          assignOnFlag: true,
          // Tokyo's 18:00 and 23:30: the dates are read in the zone chosen in the same form.
          startsAt: "2026-07-04T09:00:00.000Z",
          endsAt: "2026-07-04T14:30:00.000Z"
        })

        // A VIEWER reads the event; no settings form.
        const viewer = yield* signedIn(tenant.orgId, "VIEWER")
        yield* go(() => viewer.page.goto(`${origin}/console/events/${eventId}`))
        yield* go(() => viewer.page.getByRole("heading", { name: "Harbour Lights II" }).waitFor())
        expect(yield* go(() => viewer.page.getByRole("form", { name: "Event settings" }).count())).toBe(0)
      }),
    90_000
  )

  it.effect(
    "new event: refused name and zone shown by them; go live, cancel and delete ask first",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const { page } = yield* signedIn(tenant.orgId, "EDITOR")
        yield* go(() => page.goto(`${origin}/console/events`))
        yield* go(() => page.getByRole("form", { name: "New event" }).waitFor())
        const create = "Create event"
        expect(yield* refusedField(page, "new-event-name", { value: "", submit: create })).toMatch(/name/i)
        yield* go(() => page.locator("#new-event-name").fill("Night Market"))
        expect(
          yield* refusedField(page, "new-event-timezone", { value: "Nowhere/Else", submit: create })
        ).toMatch(/time zone/i)
        yield* go(() => page.locator("#new-event-timezone").fill("new_y"))
        yield* go(() => page.getByRole("option", { name: "America/New_York" }).waitFor())
        yield* go(() => page.locator("#new-event-timezone").press("ArrowDown"))
        yield* go(() => page.locator("#new-event-timezone").press("Enter"))
        expect(yield* go(() => page.locator("#new-event-timezone").inputValue())).toBe("America/New_York")
        yield* go(() => page.getByRole("button", { name: create }).click())
        yield* go(() => page.getByRole("heading", { name: "Night Market" }).waitFor())
        const eventId = new URL(page.url()).pathname.split("/").at(-1)!
        const status = () => Effect.map(eventOf(tenant, eventId), (r) => r.body.status as string)
        expect(yield* status()).toBe("DRAFT")

        // Go live: "Keep it" leaves the event as it was; confirming makes it live.
        yield* go(() => page.getByRole("button", { name: "Go live" }).click())
        const goLive = /Make Night Market live\?/
        yield* go(() =>
          page
            .getByRole("dialog", { name: goLive })
            .getByText(/start redirecting/)
            .waitFor()
        )
        yield* shot(page, "console-event-confirm-live")
        yield* answerConfirm(page, goLive, "keep")
        expect(yield* status()).toBe("DRAFT")
        yield* go(() => page.getByRole("button", { name: "Go live" }).click())
        yield* answerConfirm(page, goLive, "confirm")
        yield* go(() => page.getByTestId("event-status").filter({ hasText: "ACTIVE" }).waitFor())
        expect(yield* status()).toBe("ACTIVE")

        const cancel = /Cancel Night Market\?/
        yield* go(() => page.getByRole("button", { name: "Cancel event" }).click())
        yield* go(() =>
          page
            .getByRole("dialog", { name: cancel })
            .getByText(/cannot be undone/)
            .waitFor()
        )
        yield* answerConfirm(page, cancel, "keep")
        expect(yield* status()).toBe("ACTIVE")
        yield* go(() => page.getByRole("button", { name: "Cancel event" }).click())
        yield* answerConfirm(page, cancel, "confirm")
        yield* go(() => page.getByTestId("event-status").filter({ hasText: "CANCELLED" }).waitFor())
        expect(yield* status()).toBe("CANCELLED")

        const remove = /Delete Night Market\?/
        yield* go(() => page.getByRole("button", { name: "Delete event" }).click())
        yield* go(() => page.getByRole("dialog", { name: remove }).getByText(/trash/).waitFor())
        yield* answerConfirm(page, remove, "keep")
        expect((yield* eventOf(tenant, eventId)).status).toBe(200)
        yield* go(() => page.getByRole("button", { name: "Delete event" }).click())
        yield* answerConfirm(page, remove, "confirm")
        yield* go(() => page.getByRole("heading", { name: "Events" }).waitFor())
        const trash = yield* ok(
          yield* call("GET", api(tenant, "/events?deleted=true"), { key: tenant.keys.VIEWER }),
          200
        )
        expect(trash.body.items.map((e: { id: string }) => e.id)).toEqual([eventId])
      }),
    90_000
  )

  it.effect(
    "windows editor: refused values by their fields; on a phone every window is named",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const created = yield* ok(
          yield* call("POST", api(tenant, "/events"), {
            key: tenant.keys.EDITOR,
            body: { name: "Long Night", timezone: "Europe/Lisbon" }
          }),
          201
        )
        const eventId = created.body.id as string
        const start = Date.UTC(2026, 6, 4, 17)
        // Two long windows and two short ones: at 390 px the short ones' titles cannot fit in their bars.
        const spans = [
          ["Doors and support act", 0, 150],
          ["Speech", 150, 160],
          ["Headliner", 160, 340],
          ["Encore", 340, 350]
        ] as const
        for (const [title, from, to] of spans)
          yield* ok(
            yield* call("POST", api(tenant, `/events/${eventId}/windows`), {
              key: tenant.keys.EDITOR,
              body: {
                type: "LIVE",
                title,
                url: "https://night.example/",
                startsAt: new Date(start + from * 60_000).toISOString(),
                endsAt: new Date(start + to * 60_000).toISOString()
              }
            }),
            201
          )
        const { page } = yield* signedIn(tenant.orgId, "EDITOR", PHONE)
        yield* go(() => page.goto(`${origin}/console/events/${eventId}`))
        yield* go(() => page.locator("#window-1-url").waitFor())

        // Every window's bar is named with its title and times, whether its title fits in it or not.
        for (const [title] of spans)
          yield* go(() =>
            page.getByRole("img", { name: new RegExp(`^${title}: .*18:00|^${title}: `) }).waitFor()
          )
        const labels = yield* go(() =>
          page.locator(".timeline .slot-label").evaluateAll((elements) =>
            elements.map((el) => {
              type Box = { left: number; right: number }
              const e = el as unknown as {
                textContent: string
                parentElement: { getBoundingClientRect(): Box }
                getBoundingClientRect(): Box
              }
              const style = (
                globalThis as unknown as {
                  getComputedStyle(x: unknown): { visibility: string; display: string }
                }
              ).getComputedStyle(el)
              const label = e.getBoundingClientRect()
              const bar = e.parentElement.getBoundingClientRect()
              return {
                text: e.textContent,
                shown: style.visibility !== "hidden" && style.display !== "none",
                fits: label.left >= bar.left - 1 && label.right <= bar.right + 1
              }
            })
          )
        )
        expect(labels).toHaveLength(4)
        // A title shown in its bar is shown whole; one that does not fit is hidden, and the legend names it.
        for (const label of labels) if (label.shown) expect(label.fits).toBe(true)
        expect(labels.filter((l) => !l.shown).map((l) => l.text)).toEqual(expect.arrayContaining(["Speech"]))
        const legend = page.getByRole("list", { name: "Windows on the timeline" })
        for (const [title] of spans)
          yield* go(() => legend.getByText(title, { exact: false }).first().waitFor())
        expect(yield* sidewaysOverflow(page)).toBeLessThanOrEqual(0)
        yield* shot(page, "console-phone-timeline")

        // A refused value per field of a window, shown next to it (Lisbon is UTC+1 in July: Speech is 20:30-20:40).
        expect(
          yield* refusedField(page, "window-1-url", { value: "not a url", submit: "Save windows" })
        ).toMatch(/https?:\/\//)
        yield* go(() => page.locator("#window-1-url").fill("https://night.example/doors"))
        yield* go(() => page.locator("#window-2-end").fill("2026-07-04T20:00"))
        expect(yield* fieldError(page, "window-2-end")).toMatch(/before it starts/)
        expect(yield* rawSchemaErrors(page)).toBeNull()
        yield* go(() => page.locator("#window-2-end").fill("2026-07-04T20:40"))
        yield* go(() => page.getByRole("button", { name: "Save windows" }).click())
        yield* go(() => page.getByText("Windows saved.").waitFor())
        expect(yield* unlabelled(page)).toEqual([])
      }),
    90_000
  )

  it.effect(
    "analytics: axes in the event's zone whatever the browser's; taps by device",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const store = yield* TapStore
        const jobs = yield* Jobs
        const tenant = yield* createTenant(yield* bootstrapKey())
        const { eventId, windowId } = yield* liveEvent(tenant, ["A", "B"], "Tokyo Night")
        yield* ok(
          yield* call("PATCH", api(tenant, `/events/${eventId}`), {
            key: tenant.keys.EDITOR,
            body: { timezone: "Asia/Tokyo" }
          }),
          200
        )
        const bands = yield* sql<{ id: string; bandUid: string }>`
        select id, band_uid from bands where organization_id = ${tenant.orgId}`
        const tap = (uid: string, ua: string, hoursAgo: number): TapRecord => ({
          ...tapOf({ orgId: tenant.orgId, eventIds: [eventId] }, uid, {
            at: Date.now() - hoursAgo * HOUR,
            kind: "WINDOW",
            ua
          }),
          bandId: bands.find((b) => b.bandUid === uid)!.id,
          windowId
        })
        yield* store.store([tap("A", IPHONE, 5), tap("A", IPHONE, 3), tap("B", ANDROID, 1)])
        yield* jobs.enqueue("analytics.rollup", {})
        const devices = () =>
          call("GET", api(tenant, `/analytics/events/${eventId}/devices`), { key: tenant.keys.VIEWER })
        let breakdown = yield* devices()
        while (breakdown.body.ios !== 2 || breakdown.body.android !== 1) {
          yield* Effect.sleep("200 millis")
          breakdown = yield* devices()
        }

        // A browser in New York, an event in Tokyo: the chart's times are Tokyo's.
        const viewer = yield* signedIn(tenant.orgId, "VIEWER")
        const cookies = yield* go(() => viewer.page.context().cookies())
        const context = yield* go(() =>
          browser.newContext({ viewport: { width: 1100, height: 760 }, timezoneId: "America/New_York" })
        )
        yield* go(() => context.addCookies(cookies))
        const page = yield* go(() => context.newPage())
        expect(yield* go(() => page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone))).toBe(
          "America/New_York"
        )
        yield* go(() => page.goto(`${origin}/console/analytics?eventId=${eventId}`))
        yield* go(() => page.getByLabel("Range").selectOption("24h"))
        const byDevice = page.getByRole("table", { name: "By device" })
        yield* go(() => byDevice.getByRole("row", { name: /iOS/ }).waitFor())
        expect(yield* go(() => byDevice.getByRole("row").allTextContents())).toEqual(
          expect.arrayContaining(["iOS2", "Android1"])
        )
        yield* shot(page, "console-analytics-devices")

        const ticks = page.locator("figure.chart [data-x-ticks]").first()
        yield* go(() => ticks.waitFor())
        const pairs = JSON.parse((yield* go(() => ticks.getAttribute("data-x-ticks"))) ?? "[]") as Array<
          [number, string]
        >
        expect(pairs.length).toBeGreaterThan(2)
        const tokyo = new Intl.DateTimeFormat("en-GB", {
          timeZone: "Asia/Tokyo",
          hour: "2-digit",
          minute: "2-digit",
          hourCycle: "h23"
        })
        for (const [seconds, label] of pairs) {
          expect(label).toMatch(/^\d\d:\d\d$/)
          expect(label).toBe(tokyo.format(seconds * 1000))
        }
        // The points are drawn at their buckets' instants, inside the span shown (not shifted by the browser's zone).
        const from = new Date(Date.now() - 24 * HOUR).toISOString()
        const series = yield* ok(
          yield* call("GET", api(tenant, `/analytics/events/${eventId}/timeseries?from=${from}`), {
            key: tenant.keys.VIEWER
          }),
          200
        )
        const chart = page.locator("figure.chart [data-x-span]").first()
        const starts = series.body.points.map((p: { start: string }) => Date.parse(p.start) / 1000).join(",")
        yield* go(() => page.locator(`figure.chart [data-x="${starts}"]`).waitFor())
        const [left, right] = ((yield* go(() => chart.getAttribute("data-x-span"))) ?? "")
          .split(",")
          .map(Number)
        for (const x of starts.split(",").map(Number)) expect(x >= left! && x <= right!).toBe(true)
        yield* shot(page, "console-chart-axes")
        yield* go(() => context.close())
      }).pipe(Effect.provide(TapStore.Default)),
    90_000
  )
})
