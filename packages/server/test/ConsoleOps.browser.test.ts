import * as Zlib from "node:zlib"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { Page } from "playwright-core"
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
  sidewaysOverflow
} from "./support/ConsoleBrowser.js"

/*
 * Issue 30, the organiser's operations in the console: webhooks and chat channels edited, disabled, rotated and
 * deleted; team revocations that ask first; forms that show a refused value next to its field; Team and
 * Webhooks on a phone; one-time secrets copied; exports named after their event; the favicon; and the first
 * load's budget, measured from the build.
 */

const { port, origin, signedIn } = await consoleBrowser()

/** Copies with the page's Copy button `name`, and reads the clipboard back. */
const copied = (page: Page, name: string) =>
  go(async () => {
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin })
    const button = page.getByRole("button", { name })
    await button.click()
    await button.getByText("Copied").waitFor()
    return page.evaluate<string>("navigator.clipboard.readText()")
  })

/** The endpoints of the tenant, as the API has them. */
const endpoints = (tenant: Tenant) =>
  Effect.map(
    call("GET", api(tenant, "/webhooks"), { key: tenant.keys.OWNER }),
    (r) =>
      r.body as ReadonlyArray<{
        url: string
        description: string
        enabled: boolean
        eventTypes: Array<string>
      }>
  )

/** The first cell's button of a stacked row reaches the right edge of the phone's screen at most. */
const withinScreen = (page: Page, name: string) =>
  go(async () => {
    const box = await page.getByRole("button", { name }).first().boundingBox()
    return box !== null && box.x >= 0 && box.x + box.width <= PHONE.width
  })

layer(adminHarness({ PORT: String(port), HOST: "127.0.0.1" }), {
  excludeTestServices: true,
  timeout: 120_000
})("console operations", (it) => {
  it.effect(
    "webhooks: refused values by their field, edit, disable, rotate with a copy, delete on confirmation",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const { page } = yield* signedIn(tenant.orgId, "OWNER")
        yield* go(() => page.goto(`${origin}/console/webhooks`))
        const form = page.getByRole("form", { name: "New endpoint" })
        yield* go(() => form.waitFor())

        // One refused value per field, each shown next to it in words.
        const add = () => go(() => form.getByRole("button", { name: "Add endpoint" }).click())
        // Each step refuses a different field than the one before: the last message must have gone.
        yield* go(() => page.locator("#webhook-url").fill("https://10.1.2.3/hooks"))
        yield* add()
        expect(yield* refusedField(page, "webhook-url", { alone: true })).toMatch(/private/)
        yield* go(() => page.locator("#webhook-url").fill("https://localhost/hooks/tapline"))
        yield* go(() => page.locator("#webhook-description").fill("x".repeat(501)))
        yield* add()
        expect(yield* refusedField(page, "webhook-description", { alone: true })).toMatch(/500/)
        yield* go(() => page.locator("#webhook-url").fill("ftp://files.example.com/drop"))
        yield* go(() => page.locator("#webhook-description").fill("Ticketing sync"))
        yield* add()
        expect(yield* refusedField(page, "webhook-url", { alone: true })).toMatch(/http/)
        yield* go(() => page.locator("#webhook-url").fill("https://localhost/hooks/tapline"))
        yield* go(() => form.getByLabel("band.flagged").uncheck())
        yield* add()
        expect(yield* refusedField(page, "webhook-events", { alone: true })).toMatch(/at least one/)
        expect(yield* rawSchemaErrors(page)).toBeNull()
        expect(yield* endpoints(tenant)).toHaveLength(0)

        // Created: the signing secret is shown once, with a Copy button that puts it on the clipboard.
        yield* go(() => form.getByLabel("band.flagged").check())
        yield* add()
        const secret = (yield* go(() => page.getByTestId("webhook-secret").textContent())) ?? ""
        expect(secret).toMatch(/^whsec_/)
        expect(yield* copied(page, "Copy the signing secret")).toBe(secret)

        // Edit: the same refusals by field, then a new URL, description and events.
        const row = page.getByRole("row", { name: /localhost\/hooks\/tapline/ })
        yield* go(() => row.getByRole("button", { name: "Edit" }).click())
        const edit = page.getByRole("form", { name: "Edit endpoint" })
        const save = () => go(() => edit.getByRole("button", { name: "Save" }).click())
        yield* go(() => page.locator("#webhook-edit-url").fill("https://192.168.0.9/hooks"))
        yield* save()
        expect(yield* refusedField(page, "webhook-edit-url", { alone: true })).toMatch(/private/)
        yield* go(() => page.locator("#webhook-edit-url").fill("https://localhost/hooks/v2"))
        yield* go(() => page.locator("#webhook-edit-description").fill("y".repeat(600)))
        yield* save()
        expect(yield* refusedField(page, "webhook-edit-description", { alone: true })).toMatch(/500/)
        yield* go(() => page.locator("#webhook-edit-url").fill("not a url"))
        yield* go(() => page.locator("#webhook-edit-description").fill("Ticketing v2"))
        yield* save()
        expect(yield* refusedField(page, "webhook-edit-url", { alone: true })).toMatch(/http/)
        yield* go(() => page.locator("#webhook-edit-url").fill("https://localhost/hooks/v2"))
        yield* go(() => edit.getByLabel("band.flagged").uncheck())
        yield* save()
        expect(yield* refusedField(page, "webhook-edit-events", { alone: true })).toMatch(/at least one/)
        expect(yield* rawSchemaErrors(page)).toBeNull()
        yield* go(() => edit.getByLabel("tap.created").check())
        yield* go(() => edit.getByLabel("export.ready").check())
        yield* shot(page, "console-webhooks-edit")
        yield* save()
        yield* go(() => edit.waitFor({ state: "detached" }))
        const [edited] = yield* endpoints(tenant)
        expect(edited?.url).toBe("https://localhost/hooks/v2")
        expect([...(edited?.eventTypes ?? [])].sort()).toEqual(["export.ready", "tap.created"])
        const current = page.getByRole("row", { name: /localhost\/hooks\/v2/ })
        yield* go(() => current.getByText("Ticketing v2").waitFor())

        // Disable, then enable again.
        yield* go(() => current.getByRole("button", { name: "Disable" }).click())
        yield* go(() => current.getByText("disabled by an owner").waitFor())
        expect((yield* endpoints(tenant))[0]?.enabled).toBe(false)
        yield* go(() => current.getByRole("button", { name: "Enable" }).click())
        yield* go(() => current.getByText("enabled", { exact: true }).waitFor())
        expect((yield* endpoints(tenant))[0]?.enabled).toBe(true)

        // Rotate: "Keep it" keeps the secret; confirming shows a new one, copied like the first.
        yield* go(() => current.getByRole("button", { name: "Rotate secret" }).click())
        yield* answerConfirm(page, /Rotate the signing secret/, "keep")
        expect(yield* go(() => page.getByTestId("webhook-secret").textContent())).toBe(secret)
        yield* go(() => current.getByRole("button", { name: "Rotate secret" }).click())
        yield* answerConfirm(page, /Rotate the signing secret/, "confirm")
        yield* go(() => page.getByTestId("webhook-secret").filter({ hasNotText: secret }).waitFor())
        const rotated = (yield* go(() => page.getByTestId("webhook-secret").textContent())) ?? ""
        expect(rotated).toMatch(/^whsec_/)
        expect(yield* copied(page, "Copy the signing secret")).toBe(rotated)

        // Delete: "Keep it" keeps the endpoint; confirming removes it.
        yield* go(() => current.getByRole("button", { name: "Delete" }).click())
        yield* go(() => page.getByRole("dialog", { name: /Delete the endpoint/ }).waitFor())
        yield* shot(page, "console-webhook-confirm-delete")
        yield* answerConfirm(page, /Delete the endpoint/, "keep")
        expect(yield* endpoints(tenant)).toHaveLength(1)
        yield* go(() => current.getByRole("button", { name: "Delete" }).click())
        yield* answerConfirm(page, /Delete the endpoint/, "confirm")
        yield* go(() => page.getByText("No endpoints yet.").waitFor())
        expect(yield* endpoints(tenant)).toHaveLength(0)

        // A chat channel's URL is its secret: its edit form starts the URL empty, and leaving it so keeps it.
        yield* ok(
          yield* call("POST", api(tenant, "/webhooks"), {
            key: tenant.keys.OWNER,
            body: {
              kind: "slack",
              url: "https://localhost/services/T0/B0/secret",
              eventTypes: ["band.flagged"]
            }
          }),
          201
        )
        yield* go(() => page.reload())
        yield* go(() =>
          page
            .getByRole("row", { name: /localhost\/…/ })
            .getByRole("button", { name: "Edit" })
            .click()
        )
        expect(yield* go(() => page.locator("#webhook-edit-url").inputValue())).toBe("")
        yield* go(() => page.locator("#webhook-edit-description").fill("Door team channel"))
        yield* save()
        yield* go(() => edit.waitFor({ state: "detached" }))
        const [chat] = yield* endpoints(tenant)
        expect(chat?.url).toBe("https://localhost/…")
        expect(chat?.description).toBe("Door team channel")
      })
  )

  it.effect(
    "team: refused values by their field, revocations and removal ask first, the new key is copied",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const { page, email } = yield* signedIn(tenant.orgId, "OWNER")
        const other = yield* signedIn(tenant.orgId, "EDITOR")
        yield* go(() => other.page.context().close())
        yield* go(() => page.goto(`${origin}/console/team`))
        yield* go(() => page.getByRole("cell", { name: other.email, exact: true }).waitFor())

        // Invite: a refused email next to its field; then a real invitation.
        const invite = page.getByRole("form", { name: "Invite someone" })
        yield* go(() => page.locator("#invite-email").fill("not an email"))
        yield* go(() => invite.getByRole("button", { name: "Send invitation" }).click())
        expect(yield* fieldError(page, "invite-email")).toMatch(/email/)
        yield* go(() => page.locator("#invite-email").fill("door@example.com"))
        yield* go(() => invite.getByRole("button", { name: "Send invitation" }).click())
        yield* go(() => page.getByText("door@example.com as EDITOR").waitFor())
        const link = (yield* go(() => page.getByTestId("invitation-link").textContent())) ?? ""
        const token = new URL(link).searchParams.get("invitation")

        // API key: an empty name refused next to its field; then a key, copied from the page.
        const keys = page.getByRole("form", { name: "New API key" })
        yield* go(() => keys.getByRole("button", { name: "Create key" }).click())
        expect(yield* fieldError(page, "api-key-name")).toMatch(/name/)
        yield* go(() => page.locator("#api-key-name").fill("door scanner"))
        yield* go(() => keys.getByRole("button", { name: "Create key" }).click())
        const secret = (yield* go(() => page.getByTestId("api-key-secret").textContent())) ?? ""
        expect(yield* copied(page, "Copy the new key")).toBe(secret)
        yield* shot(page, "console-api-key-copy")

        // Role change: the last OWNER cannot step down; the refusal is shown next to their role.
        yield* go(() => page.getByLabel(`Role of ${email}`).selectOption("VIEWER"))
        expect(yield* go(() => page.getByTestId(`role-error-${email}`).textContent())).toMatch(
          /at least one OWNER/
        )
        yield* go(() => page.getByLabel(`Role of ${other.email}`).selectOption("VIEWER"))
        // The select shows the role the API has: VIEWER once the change is in.
        yield* go(() =>
          page.waitForFunction(
            (label) =>
              (
                globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }
              ).document.querySelector(`select[aria-label="${label}"]`)?.value === "VIEWER",
            `Role of ${other.email}`
          )
        )
        expect(yield* rawSchemaErrors(page)).toBeNull()

        // Revoke the key: "Keep it" keeps it working; confirming stops it.
        yield* go(() => page.getByRole("button", { name: "Revoke door scanner" }).click())
        yield* answerConfirm(page, /Revoke the key door scanner/, "keep")
        expect((yield* call("GET", api(tenant, "/events"), { key: secret })).status).toBe(200)
        yield* go(() => page.getByRole("button", { name: "Revoke door scanner" }).click())
        yield* answerConfirm(page, /Revoke the key door scanner/, "confirm")
        yield* go(() =>
          page
            .getByRole("row", { name: /door scanner/ })
            .getByText(/revoked/)
            .waitFor()
        )
        expect((yield* call("GET", api(tenant, "/events"), { key: secret })).status).toBe(401)

        // Revoke the invitation: its link stops working only once confirmed.
        yield* go(() =>
          page.getByRole("button", { name: "Revoke the invitation of door@example.com" }).click()
        )
        yield* answerConfirm(page, /Revoke the invitation/, "keep")
        expect((yield* call("GET", `/api/v1/invitations/${token}`)).status).toBe(200)
        yield* go(() =>
          page.getByRole("button", { name: "Revoke the invitation of door@example.com" }).click()
        )
        yield* answerConfirm(page, /Revoke the invitation/, "confirm")
        yield* go(() => page.getByText("door@example.com as EDITOR").waitFor({ state: "detached" }))
        expect((yield* call("GET", `/api/v1/invitations/${token}`)).status).toBe(404)

        // Remove a member: kept on "Keep it", gone once confirmed.
        yield* go(() => page.getByRole("button", { name: `Remove ${other.email}` }).click())
        yield* answerConfirm(page, /Remove .* from the organisation/, "keep")
        const members = () =>
          Effect.map(call("GET", api(tenant, "/members"), { key: tenant.keys.OWNER }), (r) =>
            (r.body as { items: ReadonlyArray<{ email: string }> }).items.map((m) => m.email)
          )
        expect(yield* members()).toContain(other.email)
        yield* go(() => page.getByRole("button", { name: `Remove ${other.email}` }).click())
        yield* answerConfirm(page, /Remove .* from the organisation/, "confirm")
        yield* go(() =>
          page.getByRole("cell", { name: other.email, exact: true }).waitFor({ state: "detached" })
        )
        expect(yield* members()).not.toContain(other.email)
      })
  )

  it.effect(
    "on a phone, Team and Webhooks fit the screen with long data, and their actions stay reachable",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const tenant = yield* createTenant(yield* bootstrapKey())
        const long = `a.very.long.name.of.someone.at.the.ticketing.desk-${Date.now()}@festival-operations.example.com`
        const [user] = yield* sql<{
          id: string
        }>`insert into users (email, name) values (${long}, 'Long Email')
        returning id`
        yield* sql`insert into memberships (user_id, organization_id, role) values (${user!.id}, ${tenant.orgId}, 'EDITOR')`
        for (const name of ["box office scanner at the north gate", "merch", "sponsor dashboard sync"]) {
          yield* ok(
            yield* call("POST", api(tenant, "/api-keys"), {
              key: tenant.keys.OWNER,
              body: { name, role: "EDITOR" }
            }),
            201
          )
        }
        yield* ok(
          yield* call("POST", api(tenant, "/invitations"), {
            key: tenant.keys.OWNER,
            body: { email: `invited.${long}`, role: "VIEWER" }
          }),
          201
        )
        yield* ok(
          yield* call("POST", api(tenant, "/webhooks"), {
            key: tenant.keys.OWNER,
            body: {
              url: `https://localhost/hooks/tapline/${"very-long-path-segment/".repeat(6)}receiver?token=abcdef0123456789`,
              eventTypes: ["band.flagged", "band.assigned", "event.status_changed", "export.ready"],
              description: "The ticketing partner's receiver for flagged and assigned bands"
            }
          }),
          201
        )

        const { page } = yield* signedIn(tenant.orgId, "OWNER", PHONE)
        yield* go(() => page.goto(`${origin}/console/team`))
        yield* go(() => page.getByText(long).first().waitFor())
        yield* go(() => page.getByRole("button", { name: "Revoke merch" }).waitFor())
        expect(yield* sidewaysOverflow(page)).toBe(0)
        expect(yield* withinScreen(page, `Remove ${long}`)).toBe(true)
        expect(yield* withinScreen(page, "Revoke box office scanner at the north gate")).toBe(true)
        expect(yield* withinScreen(page, `Revoke the invitation of invited.${long}`)).toBe(true)
        yield* shot(page, "console-phone-team")

        yield* go(() => page.goto(`${origin}/console/webhooks`))
        yield* go(() => page.getByRole("button", { name: "Edit" }).waitFor())
        yield* go(() => page.getByRole("button", { name: /very-long-path-segment/ }).click())
        yield* go(() => page.getByRole("heading", { name: "Delivery log" }).waitFor())
        expect(yield* sidewaysOverflow(page)).toBe(0)
        expect(yield* withinScreen(page, "Delete")).toBe(true)
        expect(yield* withinScreen(page, "Rotate secret")).toBe(true)
        yield* shot(page, "console-phone-webhooks")
      })
  )

  it.effect(
    "exports name their event, and the file is named after it and its date, non-Latin names too",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        yield* liveEvent(tenant, ["FT-1"], "Fête 東京")
        const { page } = yield* signedIn(tenant.orgId, "VIEWER")
        yield* go(() => page.goto(`${origin}/console/exports`))
        yield* go(() => page.getByLabel("Taps of").selectOption({ label: "Fête 東京" }))
        yield* go(() => page.getByRole("button", { name: "Export taps" }).click())
        const link = page.getByRole("link", { name: "Download" })
        yield* go(() => link.waitFor())
        yield* go(() => page.getByRole("row", { name: /Fête 東京/ }).waitFor())
        yield* shot(page, "console-exports-named")
        const day = new Date().toISOString().slice(0, 10)
        const download = yield* go(() => Promise.all([page.waitForEvent("download"), link.click()]))
        expect(download[0].suggestedFilename()).toBe(`taps-fête-東京-${day}.csv`)
        const href = yield* go(() => link.getAttribute("href"))
        const response = yield* go(() => fetch(new URL(href!, origin)))
        expect(response.headers.get("content-disposition")).toBe(
          `attachment; filename="taps-fete-${day}.csv"; ` +
            `filename*=UTF-8''taps-f%C3%AAte-%E6%9D%B1%E4%BA%AC-${day}.csv`
        )
        expect(yield* go(() => response.text())).toMatch(/^id,tapped_at,band_uid/)
      })
  )

  it.effect("a favicon in the brand's colour, and a first load under 250 kB gzipped", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const { page } = yield* signedIn(tenant.orgId, "OWNER")
      const bodies: Array<Promise<{ url: string; bytes: number }>> = []
      page.on("response", (response) => {
        const type = response.request().resourceType()
        // Code, styles, the page and its icons; the API's answers are data, not the load.
        if (type === "fetch" || type === "xhr" || type === "eventsource") return
        bodies.push(
          response.body().then(
            (body) => ({ url: response.url(), bytes: Zlib.gzipSync(body).length }),
            () => ({ url: response.url(), bytes: 0 })
          )
        )
      })
      yield* go(() => page.goto(`${origin}/console/`, { waitUntil: "networkidle" }))
      yield* go(() => page.getByRole("heading", { name: "Events" }).waitFor())
      yield* go(() => page.waitForLoadState("networkidle"))
      const loaded = yield* go(() => Promise.all(bodies))
      const total = loaded.reduce((sum, r) => sum + r.bytes, 0)
      console.log(
        `first load: ${total} bytes gzipped over ${loaded.length} responses\n` +
          loaded.map((r) => `  ${r.bytes}\t${new URL(r.url).pathname}`).join("\n")
      )
      expect(loaded.some((r) => new URL(r.url).pathname === "/console/")).toBe(true)
      expect(loaded.some((r) => /\/assets\/index-[\w-]+\.js$/.test(r.url))).toBe(true)
      expect(loaded.filter((r) => /\/assets\/(Chart|Live|Analytics)-/.test(r.url))).toEqual([])
      expect(total).toBeLessThan(250_000)

      // The page names its icon; the icon and /favicon.ico are the brand's SVG.
      const href = yield* go(() => page.locator('link[rel="icon"]').getAttribute("href"))
      expect(href).toBe("/console/favicon.svg")
      for (const path of ["/console/favicon.svg", "/favicon.ico"]) {
        const icon = yield* go(() => fetch(new URL(path, origin)))
        expect(icon.status).toBe(200)
        expect(icon.headers.get("content-type")).toBe("image/svg+xml")
        expect(icon.headers.get("cache-control")).toMatch(/max-age=/)
        const svg = yield* go(() => icon.text())
        expect(svg).toContain("#0f3d3e")
        expect(svg.length).toBeLessThan(1_000)
      }
    })
  )
})
