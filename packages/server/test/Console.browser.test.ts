import * as Fs from "node:fs"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Jobs } from "../src/Jobs/Jobs.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"
import { TapRecorder } from "../src/Taps/TapRecorder.js"
import { TapStore } from "../src/Taps/TapStore.js"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness, TAP_DOMAIN } from "./support/AdminHarness.js"
import { startCaptureServer } from "./support/CaptureServer.js"
import {
  answerConfirm,
  api,
  consoleBrowser,
  go,
  noneLoading,
  SHOTS,
  shot,
  unlabelled
} from "./support/ConsoleBrowser.js"
import { request } from "./support/HotPathHarness.js"
import { clearOfMinuteEnd, tapOf } from "./support/TapFixtures.js"

/*
 * Issue 16, the console in headless Chromium against the running server (the console's build, served at
 * /console/), one test per screen: events and their status, the windows editor, bands with an import that
 * has a bad row, the live view (a real tap, then a burst of 2 000 taps/s measured in the page), analytics,
 * the audit log, team, webhooks, exports, role limits, a phone's viewport and the keyboard. Screenshots of
 * each screen go to .tapline-test/screenshots/ (copies in docs/console/).
 *
 * Sessions are created by the Sessions service, as a sign-in does: the sign-in flows themselves (OIDC,
 * passkeys, TOTP) are driven in SignInPage.browser.test.ts, which ends in the console.
 */

const { port, origin, browser, signedIn } = await consoleBrowser()

/** A tap of `eventId` as the hot path hands it to the recorder, at `at`. */
const tapAt = (tenant: Tenant, eventId: string, bandUid: string, at = Date.now()): TapRecord =>
  tapOf({ orgId: tenant.orgId, eventIds: [eventId] }, bandUid, { at, kind: "WINDOW" })

layer(adminHarness({ PORT: String(port), HOST: "127.0.0.1" }), {
  excludeTestServices: true,
  timeout: 120_000
})("console", (it) => {
  it.effect("signed out: / leads to the console, which offers the sign-in page", () =>
    Effect.gen(function* () {
      const page = yield* Effect.promise(() => browser.newPage())
      const response = yield* Effect.promise(() => page.goto(`${origin}/`))
      expect(new URL(page.url()).pathname).toBe("/console/")
      expect(response?.headers()["cache-control"]).toBe("no-cache")
      expect(response?.headers()["content-security-policy"]).toContain("connect-src 'self';")
      yield* Effect.promise(() => page.getByRole("link", { name: "Sign in" }).waitFor())
      expect(
        yield* Effect.promise(() => page.getByRole("link", { name: "Sign in" }).getAttribute("href"))
      ).toBe("/sign-in")
      yield* shot(page, "console-signed-out")
      yield* Effect.promise(() => page.close())
    })
  )

  it.effect("an EDITOR sees the events and makes one live; a VIEWER sees no controls", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      const tenant = yield* createTenant(admin)
      const created = yield* ok(
        yield* call("POST", `/api/v1/organizations/${tenant.orgId}/events`, {
          key: tenant.keys.EDITOR,
          body: { name: "Harbour Night", timezone: "Europe/Berlin" }
        }),
        201
      )
      expect(created.body.status).toBe("DRAFT")

      const editor = yield* signedIn(tenant.orgId, "EDITOR")
      yield* Effect.promise(() => editor.page.goto(`${origin}/console/`))
      yield* Effect.promise(() => editor.page.getByText(editor.email).waitFor())
      // The organisation list and its events arrive after the user: the event's button says both are in.
      yield* Effect.promise(() =>
        editor.page.getByRole("link", { name: "Harbour Night", exact: true }).click()
      )
      const select = editor.page.getByLabel("Organisation")
      expect(yield* Effect.promise(() => select.inputValue())).toBe(tenant.orgId)
      yield* shot(editor.page, "console-events")
      yield* Effect.promise(() => editor.page.getByRole("button", { name: "Go live" }).click())
      yield* answerConfirm(editor.page, "Make Harbour Night live?", "confirm")
      yield* Effect.promise(() =>
        editor.page.getByTestId("event-status").filter({ hasText: "ACTIVE" }).waitFor()
      )
      // The change reached the API with the session and its CSRF header, and was audited as this user.
      const event = yield* ok(
        yield* call("GET", `/api/v1/organizations/${tenant.orgId}/events/${created.body.id}`, {
          key: tenant.keys.VIEWER
        }),
        200
      )
      expect(event.body.status).toBe("ACTIVE")

      const viewer = yield* signedIn(tenant.orgId, "VIEWER")
      yield* Effect.promise(() => viewer.page.goto(`${origin}/console/`))
      yield* Effect.promise(() =>
        viewer.page.getByRole("link", { name: "Harbour Night", exact: true }).click()
      )
      yield* Effect.promise(() =>
        viewer.page.getByText("Your role in this organisation reads only.").waitFor()
      )
      expect(yield* Effect.promise(() => viewer.page.getByRole("button", { name: "Complete" }).count())).toBe(
        0
      )
      yield* shot(viewer.page, "console-viewer")
    })
  )

  it.effect("assets are cached for a year, the page is not; a path outside the build is refused", () =>
    Effect.gen(function* () {
      const html = yield* Effect.promise(() =>
        fetch(`${origin}/console/events/anything`).then((r) => r.text())
      )
      const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1]
      expect(asset).toBeDefined()
      const response = yield* Effect.promise(() => fetch(`${origin}${asset}`))
      expect(response.status).toBe(200)
      expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
      expect(response.headers.get("content-type")).toContain("javascript")
      const outside = yield* Effect.promise(() => fetch(`${origin}/console/assets/..%2F..%2Fpackage.json`))
      expect(outside.status).toBe(404)
    })
  )
  it.effect("windows editor: overlaps are shown before saving; saved in the event's time zone", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const editor = yield* signedIn(tenant.orgId, "EDITOR")
      const page = editor.page
      yield* go(() => page.goto(`${origin}/console/events`))
      yield* go(() => page.getByRole("form", { name: "New event" }).getByLabel("Name").fill("Dock Festival"))
      yield* go(() => page.getByLabel("Time zone").fill("America/New_York"))
      yield* go(() => page.getByRole("button", { name: "Create event" }).click())
      yield* go(() => page.getByRole("heading", { name: "Dock Festival" }).waitFor())
      yield* go(() => page.getByText("Times in America/New_York.").waitFor())

      const fill = (n: number, values: { title: string; start: string; end: string; url: string }) =>
        Effect.gen(function* () {
          const box = page.locator("fieldset.window").nth(n)
          yield* go(() => box.getByLabel("Title").fill(values.title))
          yield* go(() => box.getByLabel("Destination").fill(values.url))
          yield* go(() => box.getByLabel("Starts").fill(values.start))
          yield* go(() => box.getByLabel("Ends").fill(values.end))
        })
      yield* go(() => page.getByRole("button", { name: "Add window" }).click())
      yield* fill(0, {
        title: "Doors",
        start: "2026-07-04T18:00",
        end: "2026-07-04T20:00",
        url: "https://dock.example/doors"
      })
      yield* go(() => page.getByRole("button", { name: "Add window" }).click())
      // Starts before Doors ends: both are marked, and Save is off until it is fixed.
      yield* fill(1, {
        title: "Show",
        start: "2026-07-04T19:30",
        end: "2026-07-04T23:00",
        url: "https://dock.example/show"
      })
      yield* go(() => page.getByText("This window overlaps Show.").waitFor())
      yield* go(() => page.getByText("This window overlaps Doors.").waitFor())
      expect(yield* go(() => page.locator(".timeline .slot-bad").count())).toBe(2)
      expect(yield* go(() => page.getByRole("button", { name: "Save windows" }).isDisabled())).toBe(true)
      yield* shot(page, "console-windows-overlap")

      yield* go(() => page.locator("fieldset.window").nth(1).getByLabel("Starts").fill("2026-07-04T20:00"))
      yield* go(() => page.getByRole("button", { name: "Save windows" }).click())
      yield* go(() => page.getByText("Windows saved.").waitFor())
      yield* shot(page, "console-event")

      const events = yield* ok(yield* call("GET", api(tenant, "/events"), { key: tenant.keys.VIEWER }), 200)
      const eventId = events.body.items[0].id as string
      const windows = yield* ok(
        yield* call("GET", api(tenant, `/events/${eventId}/windows`), { key: tenant.keys.VIEWER }),
        200
      )
      // New York is UTC-4 in July: 18:00 there is 22:00 UTC.
      expect(
        windows.body.items.map((w: { title: string; startsAt: string; endsAt: string }) => [
          w.title,
          w.startsAt,
          w.endsAt
        ])
      ).toEqual([
        ["Doors", "2026-07-04T22:00:00.000Z", "2026-07-05T00:00:00.000Z"],
        ["Show", "2026-07-05T00:00:00.000Z", "2026-07-05T03:00:00.000Z"]
      ])
      yield* go(() => page.context().close())
    })
  )

  it.effect("bands: an import with a bad row reports its line; flags resolved, tags set, a band moved", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const tenant = yield* createTenant(yield* bootstrapKey())
      const gate = yield* ok(
        yield* call("POST", api(tenant, "/events"), { key: tenant.keys.EDITOR, body: { name: "Gate A" } }),
        201
      )
      const other = yield* ok(
        yield* call("POST", api(tenant, "/events"), { key: tenant.keys.EDITOR, body: { name: "Gate B" } }),
        201
      )
      const editor = yield* signedIn(tenant.orgId, "EDITOR")
      const page = editor.page
      yield* go(() => page.goto(`${origin}/console/bands?eventId=${gate.body.id}`))
      yield* go(() => page.getByRole("heading", { name: "Import bands" }).waitFor())
      const csv = [
        "band_uid,registrant_name,registrant_email,tags",
        "WB-0001,Ana Silva,ana@example.com,VIP",
        "WB-0002,Bo,not-an-email,",
        "WB-0003,Cy,,VIP;Crew"
      ].join("\n")
      yield* go(() =>
        page
          .getByRole("region", { name: "Import bands" })
          .getByLabel("Into event")
          .selectOption({ label: "Gate A" })
      )
      yield* go(() =>
        page
          .getByLabel("File")
          .setInputFiles({ name: "bands.csv", mimeType: "text/csv", buffer: Buffer.from(csv) })
      )
      // The upload is held at storage until the progress bar has been seen, then let through.
      let release = () => {}
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      yield* go(() =>
        page.route("**/storage/**", async (route) => {
          await held
          await route.continue()
        })
      )
      yield* go(() => page.getByRole("button", { name: "Import", exact: true }).click())
      yield* go(() => page.getByRole("progressbar", { name: "Import progress" }).waitFor())
      yield* go(() => page.getByText(/^Uploading \d+%$/).waitFor())
      release()
      const result = page.getByTestId("import-result")
      yield* go(() => result.waitFor())
      expect(yield* go(() => result.locator("p").textContent())).toBe(
        "3 rows: 2 created, 0 updated, 0 unchanged, 1 invalid."
      )
      const invalid = page.getByRole("table", { name: "Rows not imported" })
      expect(yield* go(() => invalid.locator("tbody td").first().textContent())).toBe("3")
      yield* go(() => page.getByRole("cell", { name: "WB-0003" }).waitFor())
      yield* shot(page, "console-bands-import")

      // A band flagged by the pipeline (far from the venue): resolved from the table.
      yield* sql`update bands set flagged = true, flag_reason = 'tapped far from the venue' where band_uid = 'WB-0003'`
      yield* go(() => page.getByLabel("Flagged only").check())
      yield* go(() => page.getByText("tapped far from the venue").waitFor())
      yield* shot(page, "console-bands")
      yield* go(() => page.getByRole("button", { name: "Unflag" }).click())
      yield* go(() => page.getByText("No bands match.").waitFor())
      yield* go(() => page.getByLabel("Flagged only").uncheck())
      yield* go(() => page.getByRole("cell", { name: "WB-0001" }).waitFor())

      // Tags: WB-0001 gets Crew as well.
      yield* go(() => page.getByLabel("Tags of WB-0001").click())
      yield* go(() => page.locator("details[open]").getByLabel("Crew").check())
      yield* go(() => page.locator("details[open]").getByRole("button", { name: "Save tags" }).click())
      yield* go(() => page.getByLabel("Tags of WB-0001").filter({ hasText: "Crew" }).waitFor())

      // Moved to the other gate: it leaves this event's list.
      yield* go(() => page.getByLabel("Move WB-0001 to event").selectOption({ label: "Gate B" }))
      yield* go(() => page.getByRole("cell", { name: "WB-0001" }).waitFor({ state: "detached" }))
      const rows = yield* sql<{ bandUid: string; eventId: string; flagged: boolean }>`
        select band_uid, event_id, flagged from bands where organization_id = ${tenant.orgId} order by band_uid`
      expect(rows.map((r) => [r.bandUid, r.eventId === other.body.id ? "B" : "A", r.flagged])).toEqual([
        ["WB-0001", "B", false],
        ["WB-0003", "A", false]
      ])
      const tags = yield* sql<{ name: string }>`
        select t.name from band_tags bt join tags t on t.id = bt.tag_id join bands b on b.id = bt.band_id
        where b.band_uid = 'WB-0001' and b.organization_id = ${tenant.orgId} order by t.name`
      expect(tags.map((t) => t.name)).toEqual(["Crew", "VIP"])
      yield* go(() => page.context().close())
    })
  )
  it.effect(
    "live view: a real tap arrives; a burst of 2 000 taps/s is kept up with, measured in the page",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const { eventId } = yield* liveEvent(tenant, ["GATE-1"], "Main Stage")
        // A show in Tokyo, watched from a browser on UTC: the chart's axis reads Tokyo's clock.
        yield* ok(
          yield* call("PATCH", api(tenant, `/events/${eventId}`), {
            key: tenant.keys.EDITOR,
            body: { timezone: "Asia/Tokyo" }
          }),
          200
        )
        const viewer = yield* signedIn(tenant.orgId, "VIEWER")
        const page = viewer.page
        yield* go(() => page.goto(`${origin}/console/events/${eventId}/live`))
        yield* go(() => page.getByText("Connected: updates every second.").waitFor())

        // A real tap through the redirect: it shows in the latest taps and the counters. The mode counters are
        // this minute's: a tap in a minute's last seconds would be read back as the next minute's zero.
        yield* clearOfMinuteEnd(8)
        const tap = yield* request(port, "/e?bandId=GATE-1", { host: `${tenant.slug}.${TAP_DOMAIN}` })
        expect(tap.status).toBe(302)
        yield* go(() => page.getByRole("table", { name: "Latest taps" }).getByText("GATE-1").waitFor())
        yield* go(() => page.getByTestId("live-total").filter({ hasText: /^1$/ }).waitFor())
        // The counters come in their own message, which may follow the seconds' by a tick.
        yield* go(() => page.getByTestId("live-mode-LIVE").filter({ hasText: /^1$/ }).waitFor())
        const ticks = JSON.parse(
          (yield* go(() =>
            page.locator("figure.chart [data-x-ticks]").first().getAttribute("data-x-ticks")
          )) ?? "[]"
        ) as Array<[number, string]>
        expect(ticks.length).toBeGreaterThan(0)
        const tokyo = new Intl.DateTimeFormat("en-GB", {
          timeZone: "Asia/Tokyo",
          hour: "2-digit",
          minute: "2-digit",
          hourCycle: "h23"
        })
        for (const [seconds, label] of ticks) expect(label).toBe(tokyo.format(seconds * 1000))
        yield* shot(page, "console-live")

        // The page's own clock: the longest gap between animation frames, and long tasks, during the burst.
        yield* go(() =>
          page.evaluate(() => {
            const web = globalThis as unknown as {
              requestAnimationFrame(f: (t: number) => void): void
              PerformanceObserver: new (
                f: (list: { getEntries(): Array<{ duration: number }> }) => void
              ) => { observe(o: unknown): void }
              performance: { now(): number }
              frames: { max: number; last: number; count: number; longTasks: Array<number> }
            }
            web.frames = { max: 0, last: web.performance.now(), count: 0, longTasks: [] }
            const loop = (t: number) => {
              web.frames.max = Math.max(web.frames.max, t - web.frames.last)
              web.frames.last = t
              web.frames.count++
              web.requestAnimationFrame(loop)
            }
            web.requestAnimationFrame(loop)
            new web.PerformanceObserver((list) => {
              for (const entry of list.getEntries()) web.frames.longTasks.push(entry.duration)
            }).observe({ type: "longtask" })
          })
        )
        // 2 000 taps a second for five seconds, handed to the recorder as the hot path does.
        const recorder = yield* TapRecorder
        const BURST = 10_000
        const started = Date.now()
        for (let tick = 0; tick < BURST / 200; tick++) {
          for (let i = 0; i < 200; i++)
            recorder.record(tapAt(tenant, eventId, `BURST-${(tick * 200 + i) % 700}`))
          // The generator's own pace (100 ms per 200 taps); nothing is awaited by sleeping.
          yield* Effect.sleep(Math.max(0, started + (tick + 1) * 100 - Date.now()))
        }
        const sentMs = Date.now() - started
        yield* go(() =>
          page
            .getByTestId("live-total")
            .filter({ hasText: new RegExp(`^${BURST + 1}$`) })
            .waitFor({ timeout: 60_000 })
        )
        const measured = yield* go(() =>
          page.evaluate(() => {
            const frames = (
              globalThis as unknown as { frames: { max: number; count: number; longTasks: Array<number> } }
            ).frames
            return {
              maxFrameGapMs: Math.round(frames.max),
              frames: frames.count,
              longTasks: frames.longTasks
            }
          })
        )
        const rows = yield* go(() =>
          page.getByRole("table", { name: "Latest taps" }).locator("tbody tr").count()
        )
        const figures = {
          taps: BURST,
          sentInMs: sentMs,
          tapsPerSecond: Math.round((BURST / sentMs) * 1000),
          ...measured,
          longestTaskMs: Math.round(Math.max(0, ...measured.longTasks)),
          latestRows: rows
        }
        console.log(
          `console live view under a burst: ${JSON.stringify({ ...figures, longTasks: measured.longTasks.length })}`
        )
        Fs.writeFileSync(new URL("../live-burst.json", SHOTS), JSON.stringify(figures, null, 2))
        // Every tap counted, the list stays bounded, and the page kept drawing frames throughout.
        expect(rows).toBe(50)
        expect(measured.frames).toBeGreaterThan(0)
        yield* shot(page, "console-live-burst")
        yield* go(() => page.context().close())
      }),
    120_000
  )

  it.effect(
    "analytics: totals, breakdowns, top bands, an organisation view, a comparison and CSV",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const store = yield* TapStore
        const jobs = yield* Jobs
        const tenant = yield* createTenant(yield* bootstrapKey())
        // A band id and a window title a spreadsheet would run as formulas: the CSV download neutralises them.
        const first = yield* liveEvent(tenant, ["A", "-1", "C"], "Night One")
        const hostileTitle = '=HYPERLINK("https://evil.example","x")'
        yield* ok(
          yield* call("PATCH", api(tenant, `/events/${first.eventId}/windows/${first.windowId}`), {
            key: tenant.keys.EDITOR,
            body: { title: hostileTitle }
          }),
          200
        )
        const second = yield* liveEvent(tenant, ["D"], "Night Two")
        // Night One belongs to a campaign: the campaign's view counts its taps only.
        const campaign = yield* ok(
          yield* call("POST", api(tenant, "/campaigns"), {
            key: tenant.keys.EDITOR,
            body: { name: "Summer Series" }
          }),
          201
        )
        yield* ok(
          yield* call("PATCH", api(tenant, `/events/${first.eventId}`), {
            key: tenant.keys.EDITOR,
            body: { campaignId: campaign.body.id }
          }),
          200
        )
        const bands = yield* sql<{ id: string; bandUid: string }>`
        select id, band_uid from bands where organization_id = ${tenant.orgId}`
        const stored = (eventId: string, windowId: string, uid: string, minutesAgo: number): TapRecord => ({
          ...tapAt(tenant, eventId, uid, Date.now() - minutesAgo * 60_000),
          bandId: bands.find((b) => b.bandUid === uid)!.id,
          windowId
        })
        yield* store.store([
          stored(first.eventId, first.windowId, "A", 50),
          stored(first.eventId, first.windowId, "A", 40),
          stored(first.eventId, first.windowId, "A", 30),
          stored(first.eventId, first.windowId, "-1", 30),
          stored(second.eventId, second.windowId, "D", 20)
        ])
        yield* jobs.enqueue("analytics.rollup", {})
        // The rollup runs in the background: wait until the API says what the page will show.
        const summary = () =>
          call("GET", api(tenant, `/analytics/events/${first.eventId}/summary`), { key: tenant.keys.VIEWER })
        let totals = yield* summary()
        while (totals.body.totalTaps !== 4) {
          yield* Effect.sleep("200 millis")
          totals = yield* summary()
        }

        const viewer = yield* signedIn(tenant.orgId, "VIEWER")
        const page = viewer.page
        yield* go(() => page.goto(`${origin}/console/analytics?eventId=${first.eventId}`))
        yield* go(() => page.getByTestId("total-taps").filter({ hasText: /^4$/ }).waitFor())
        expect(yield* go(() => page.getByTestId("unique-bands").textContent())).toBe("2")
        expect(
          yield* go(() => page.getByRole("table", { name: "By mode" }).getByRole("row").first().textContent())
        ).toContain("LIVE4")
        expect(
          yield* go(() =>
            page.getByRole("table", { name: "Top bands" }).locator("tbody tr").first().textContent()
          )
        ).toBe("A3")
        // The fixtures' taps come from an Android phone.
        yield* go(() => page.getByRole("table", { name: "By device" }).waitFor())
        expect(
          yield* go(() =>
            page.getByRole("table", { name: "By device" }).getByRole("row").first().textContent()
          )
        ).toContain("Android4")
        yield* go(() => page.locator("figure.chart canvas").first().waitFor())
        // The chart spans the range asked for (7 days), not what its few points would suggest.
        const span = yield* go(() => page.locator("figure.chart [data-x-span]").getAttribute("data-x-span"))
        const [from, to] = (span ?? "").split(",").map(Number)
        expect(to! - from!).toBe(7 * 86_400)
        expect(yield* unlabelled(page)).toEqual([])
        yield* shot(page, "console-analytics")

        // The summary as CSV, downloaded by the browser.
        const [download] = yield* go(() =>
          Promise.all([
            page.waitForEvent("download"),
            page.getByRole("button", { name: "Download summary (CSV)" }).click()
          ])
        )
        const csv = Fs.readFileSync((yield* go(() => download.path()))!, "utf8")
        expect(csv).toContain("total,totalTaps,4\r\n")
        expect(csv).toContain("top band,A,3\r\n")
        expect(csv).toContain("top band,'-1,1\r\n")
        expect(csv).toContain(`window,"'=HYPERLINK(""https://evil.example"",""x"")",4\r\n`)
        // The raw taps: a link to the API's CSV route, derived from the contract, opened with the session.
        const tapsCsv = yield* go(() =>
          page.getByRole("link", { name: "Download taps (CSV)" }).getAttribute("href")
        )
        expect(tapsCsv).toMatch(
          new RegExp(
            `^/api/v1/organizations/${tenant.orgId}/analytics/events/${first.eventId}/taps\\.csv\\?from=`
          )
        )
        const raw = yield* go(() =>
          page.evaluate(
            (href) => fetch(href).then(async (r) => ({ status: r.status, text: await r.text() })),
            tapsCsv!
          )
        )
        expect(raw.status).toBe(200)
        expect(raw.text.split("\n").filter((line) => line.includes(",A,")).length).toBe(3)

        // The whole organisation, the campaign, then the two nights side by side.
        yield* go(() => page.getByLabel("Show").selectOption({ label: "The whole organisation" }))
        yield* go(() => page.getByTestId("total-taps").filter({ hasText: /^5$/ }).waitFor())
        yield* go(() => page.getByLabel("Show").selectOption({ label: "Summer Series" }))
        yield* go(() => page.getByTestId("total-taps").filter({ hasText: /^4$/ }).waitFor())
        yield* go(() =>
          page.getByRole("group", { name: "Events to compare (up to 20)" }).getByLabel("Night One").check()
        )
        yield* go(() =>
          page.getByRole("group", { name: "Events to compare (up to 20)" }).getByLabel("Night Two").check()
        )
        const comparison = page.getByRole("table", { name: "Comparison" })
        yield* go(() => comparison.getByRole("row", { name: /Night Two/ }).waitFor())
        expect(
          yield* go(() =>
            comparison
              .getByRole("row", { name: /Night One/ })
              .locator("td")
              .first()
              .textContent()
          )
        ).toBe("4")
        expect(
          yield* go(() =>
            comparison
              .getByRole("row", { name: /Night Two/ })
              .locator("td")
              .first()
              .textContent()
          )
        ).toBe("1")
        yield* shot(page, "console-analytics-compare")
        yield* go(() => page.context().close())
      }).pipe(Effect.provide(TapStore.Default)),
    120_000
  )

  it.scoped(
    "team, audit, webhooks and exports for an OWNER",
    () =>
      Effect.gen(function* () {
        const store = yield* TapStore
        const tenant = yield* createTenant(yield* bootstrapKey())
        const { eventId, windowId } = yield* liveEvent(tenant, ["EXP-1"], "Export Night")
        yield* store.store([{ ...tapAt(tenant, eventId, "EXP-1", Date.now() - 60_000), windowId }])
        const owner = yield* signedIn(tenant.orgId, "OWNER")
        const page = owner.page

        // Team: an invitation and an API key whose secret is shown once.
        yield* go(() => page.goto(`${origin}/console/team`))
        yield* go(() => page.getByRole("cell", { name: owner.email, exact: true }).waitFor())
        yield* go(() =>
          page.getByRole("form", { name: "Invite someone" }).getByLabel("Email").fill("door@example.com")
        )
        yield* go(() =>
          page.getByRole("form", { name: "Invite someone" }).getByLabel("Role").selectOption("VIEWER")
        )
        yield* go(() => page.getByRole("button", { name: "Send invitation" }).click())
        yield* go(() => page.getByText("door@example.com as VIEWER").waitFor())
        // No email provider here (the log one): the console says nobody was emailed and shows the link once.
        yield* go(() => page.getByText("nobody was emailed").waitFor())
        const firstLink = (yield* go(() => page.getByTestId("invitation-link").textContent())) ?? ""
        expect(firstLink).toMatch(/invitation=tli_/)
        yield* go(() => page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin }))
        yield* go(() => page.getByRole("button", { name: "Copy the link for door@example.com" }).click())
        yield* go(() =>
          page
            .getByRole("button", { name: "Copy the link for door@example.com" })
            .getByText("Copied")
            .waitFor()
        )
        expect(yield* go(() => page.evaluate<string>("navigator.clipboard.readText()"))).toBe(firstLink)
        // Copy link later: a new link, on the clipboard; the old one stops working.
        yield* go(() => page.getByRole("button", { name: "New link for door@example.com" }).click())
        yield* go(() => page.getByText("the previous one no longer works").waitFor())
        const secondLink = (yield* go(() => page.getByTestId("invitation-link").textContent())) ?? ""
        expect(secondLink).toMatch(/invitation=tli_/)
        expect(secondLink).not.toBe(firstLink)
        expect(yield* go(() => page.evaluate<string>("navigator.clipboard.readText()"))).toBe(secondLink)
        const invitationToken = (link: string) => new URL(link).searchParams.get("invitation")
        expect((yield* call("GET", `/api/v1/invitations/${invitationToken(firstLink)}`)).status).toBe(404)
        expect((yield* call("GET", `/api/v1/invitations/${invitationToken(secondLink)}`)).status).toBe(200)
        yield* go(() =>
          page.getByRole("form", { name: "New API key" }).getByLabel("Name").fill("door scanner")
        )
        yield* go(() => page.getByRole("button", { name: "Create key" }).click())
        const secret = yield* go(() => page.getByTestId("api-key-secret").textContent())
        expect(secret?.length ?? 0).toBeGreaterThan(20)
        yield* go(() => page.getByRole("cell", { name: "door scanner", exact: true }).waitFor())
        expect(yield* unlabelled(page)).toEqual([])
        yield* shot(page, "console-team")
        // The key works against the API: it was made for real.
        const viaKey = yield* call("GET", api(tenant, "/events"), { key: secret! })
        expect(viaKey.status).toBe(200)

        // Audit: what was just done, as this user.
        yield* go(() => page.getByRole("link", { name: "Audit log" }).click())
        yield* go(() => page.getByRole("cell", { name: "api_key.create" }).first().waitFor())
        yield* go(() => page.getByRole("cell", { name: "invitation.create" }).waitFor())
        yield* go(() => page.getByLabel("Action").fill("invitation.create"))
        yield* go(() =>
          page.getByRole("cell", { name: "api_key.create" }).first().waitFor({ state: "detached" })
        )
        yield* shot(page, "console-audit")

        // Webhooks: an endpoint, a test ping delivered, then sent again.
        const receiver = yield* go(() => startCaptureServer())
        yield* Effect.addFinalizer(() => Effect.promise(() => receiver.close()))
        receiver.fallback = () => ({ status: 204 })
        yield* go(() => page.getByRole("link", { name: "Webhooks" }).click())
        yield* go(() => page.getByLabel("URL").fill(`${receiver.url}/hooks`))
        yield* go(() => page.getByRole("button", { name: "Add endpoint" }).click())
        yield* go(() => page.getByText(/Signing secret \(shown once\): whsec_/).waitFor())
        yield* go(() => page.getByRole("button", { name: "Send a test" }).click())
        yield* go(() => page.getByTestId("delivery-status").filter({ hasText: "succeeded" }).waitFor())
        expect((yield* go(() => receiver.nth(1))).url).toBe("/hooks")
        yield* go(() => page.getByRole("button", { name: "Redeliver" }).click())
        const again = yield* go(() => receiver.nth(2))
        expect(JSON.parse(again.body).type).toBe("webhook.test")

        // A Slack channel: an endpoint of another kind, no signing secret, messages in Slack's format.
        yield* go(() => page.getByLabel("Kind").selectOption({ label: "Slack channel" }))
        yield* go(() => page.getByLabel("URL").fill(`${receiver.url}/services/T0/B0/secret`))
        yield* go(() => page.getByRole("button", { name: "Add endpoint" }).click())
        yield* go(() => page.getByRole("button", { name: `${receiver.url}/…` }).waitFor())
        expect(yield* go(() => page.getByText("Signing secret (shown once)").count())).toBe(0)
        yield* go(() => page.getByRole("button", { name: "Send a test" }).click())
        const chat = yield* go(() => receiver.nth(3))
        expect(chat.url).toBe("/services/T0/B0/secret")
        expect(typeof JSON.parse(chat.body).text).toBe("string")
        yield* go(() => page.getByTestId("delivery-status").filter({ hasText: "succeeded" }).waitFor())
        expect(yield* unlabelled(page)).toEqual([])
        yield* shot(page, "console-webhooks")

        // Exports: the taps of the event, made in the background, downloaded from storage.
        yield* go(() => page.getByRole("link", { name: "Exports" }).click())
        yield* go(() => page.getByLabel("Taps of").selectOption({ label: "Export Night" }))
        yield* go(() => page.getByRole("button", { name: "Export taps" }).click())
        const link = page.getByRole("link", { name: "Download" })
        yield* go(() => link.waitFor())
        const href = yield* go(() => link.getAttribute("href"))
        const file = yield* go(() => fetch(new URL(href!, origin)).then((r) => r.text()))
        expect(file).toContain("EXP-1")
        yield* shot(page, "console-exports")
        yield* go(() => page.context().close())
      }).pipe(Effect.provide(TapStore.Default)),
    120_000
  )

  it.effect("a VIEWER sees no controls anywhere, and the API refuses what the page would not offer", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const { eventId } = yield* liveEvent(tenant, ["V-1"], "Viewer Night")
      const viewer = yield* signedIn(tenant.orgId, "VIEWER")
      const page = viewer.page
      yield* go(() => page.goto(`${origin}/console/events`))
      yield* go(() => page.getByRole("link", { name: "Viewer Night", exact: true }).waitFor())
      expect(yield* go(() => page.getByRole("form", { name: "New event" }).count())).toBe(0)
      const nav = page.getByRole("navigation", { name: "Console" })
      expect(yield* go(() => nav.getByRole("link").allTextContents())).toEqual([
        "Events",
        "Bands",
        "Analytics",
        "Exports",
        "Campaigns",
        "Activations",
        "Journeys",
        "Tags",
        "Team",
        "Trash",
        "Settings"
      ])
      yield* go(() => page.getByRole("link", { name: "Viewer Night", exact: true }).click())
      yield* go(() => page.getByText("Your role in this organisation reads only.").waitFor())
      expect(yield* go(() => page.locator("fieldset.window").first().getByLabel("Title").isDisabled())).toBe(
        true
      )
      expect(yield* go(() => page.getByRole("button", { name: "Save windows" }).count())).toBe(0)
      yield* go(() => nav.getByRole("link", { name: "Bands" }).click())
      yield* go(() => page.getByRole("cell", { name: "V-1" }).waitFor())
      expect(yield* go(() => page.getByRole("heading", { name: "Import bands" }).count())).toBe(0)
      expect(yield* go(() => page.getByRole("columnheader", { name: "Move to" }).count())).toBe(0)
      yield* go(() => nav.getByRole("link", { name: "Team" }).click())
      yield* go(() => page.getByRole("heading", { name: "Members" }).waitFor())
      expect(yield* go(() => page.getByRole("heading", { name: "API keys" }).count())).toBe(0)
      // The API decides regardless: the same change made from this page with the session is refused.
      const refused = yield* go(() =>
        page.evaluate(
          async (path) => {
            const web = globalThis as unknown as { document: { cookie: string } }
            const csrf = decodeURIComponent(
              web.document.cookie
                .split("; ")
                .find((c) => c.startsWith("tapline_csrf="))
                ?.slice(13) ?? ""
            )
            const response = await fetch(path, {
              method: "POST",
              headers: { "content-type": "application/json", "x-csrf-token": csrf },
              body: JSON.stringify({ status: "COMPLETED" })
            })
            return response.status
          },
          api(tenant, `/events/${eventId}/status`)
        )
      )
      expect(refused).toBe(403)

      // Signing out in the console ends the session: the API no longer knows the cookie.
      yield* go(() => page.getByRole("button", { name: "Sign out" }).click())
      yield* go(() => page.getByRole("link", { name: "Sign in" }).waitFor())
      const me = yield* go(() => page.evaluate(() => fetch("/api/v1/me").then((r) => r.status)))
      expect(me).toBe(401)
      yield* go(() => page.context().close())
    })
  )

  it.effect(
    "on a phone: no sideways scrolling; the keyboard reaches every screen",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const { eventId } = yield* liveEvent(tenant, ["P-1"], "Door Staff Night")
        const editor = yield* signedIn(tenant.orgId, "EDITOR", { width: 390, height: 844 })
        const page = editor.page
        const fits = () =>
          go(() =>
            page.evaluate(() => {
              const web = globalThis as unknown as {
                document: { documentElement: { scrollWidth: number } }
                innerWidth: number
              }
              return web.document.documentElement.scrollWidth <= web.innerWidth
            })
          )
        for (const path of ["events", `events/${eventId}`, `events/${eventId}/live`, "bands", "analytics"]) {
          yield* go(() => page.goto(`${origin}/console/${path}`))
          yield* go(() => page.getByRole("heading", { level: 1 }).first().waitFor())
          // Every section's loading line gone (a screen may load several at once: trash has three).
          yield* go(() => page.waitForFunction(noneLoading))
          expect([path, yield* fits()]).toEqual([path, true])
          expect(yield* unlabelled(page)).toEqual([])
        }
        yield* shot(page, "console-phone-analytics")
        yield* go(() => page.goto(`${origin}/console/events/${eventId}/live`))
        yield* go(() => page.getByText("Connected: updates every second.").waitFor())
        yield* shot(page, "console-phone-live")

        // Keyboard only: Tab to the navigation's Bands link and press Enter.
        yield* go(() => page.goto(`${origin}/console/events`))
        yield* go(() => page.getByRole("link", { name: "Door Staff Night", exact: true }).waitFor())
        let focused = ""
        for (let i = 0; i < 15 && focused !== "Bands"; i++) {
          yield* go(() => page.keyboard.press("Tab"))
          focused = yield* go(() =>
            page.evaluate(
              () =>
                (globalThis as unknown as { document: { activeElement: { textContent: string } | null } })
                  .document.activeElement?.textContent ?? ""
            )
          )
        }
        expect(focused).toBe("Bands")
        yield* go(() => page.keyboard.press("Enter"))
        yield* go(() => page.getByRole("heading", { name: "Bands", exact: true }).waitFor())
        expect(new URL(page.url()).pathname).toBe("/console/bands")
        yield* go(() => page.context().close())
      }),
    120_000
  )
})
