import * as Fs from "node:fs"
import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { freePort } from "@tapline/testing/ports"
import { Effect } from "effect"
import { type Browser, chromium, type Page } from "playwright-core"
import { Sessions } from "../src/Auth/Sessions.js"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 16, the console's first screens in headless Chromium against the running server (the console's
 * build, served at /console/): signed out it offers the sign-in page; an EDITOR picks the organisation, sees
 * its events and makes one live (a cookie-session change carrying the CSRF header); a VIEWER sees the same
 * events and no controls. Screenshots go to .tapline-test/screenshots/.
 *
 * The session is created by the Sessions service, as a sign-in does: the sign-in flows themselves (OIDC,
 * passkeys, TOTP) are driven in SignInPage.browser.test.ts.
 */

const port = await freePort()
const origin = `http://localhost:${port}`
const SHOTS = new URL("../../../.tapline-test/screenshots/", import.meta.url)
Fs.mkdirSync(SHOTS, { recursive: true })

const browser: Browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
})
afterAll(() => browser.close())

/** A user with `role` in the organisation, and a browser page signed in as them. */
const signedIn = (orgId: string, role: "EDITOR" | "VIEWER") =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const email = `${role.toLowerCase()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}@example.com`
    const [user] = yield* sql<{
      id: UserId
    }>`insert into users (email, name) values (${email}, ${role}) returning id`
    yield* sql`insert into memberships (user_id, organization_id, role) values (${user!.id}, ${orgId}, ${role})`
    const tokens = yield* (yield* Sessions).create({
      userId: user!.id,
      method: "test",
      ip: null,
      userAgent: "console-test"
    })
    const context = yield* Effect.promise(() =>
      browser.newContext({ viewport: { width: 1100, height: 760 } })
    )
    yield* Effect.promise(() =>
      context.addCookies([
        { name: "tapline_session", value: tokens.accessToken, url: origin, httpOnly: true },
        { name: "tapline_csrf", value: tokens.csrfToken, url: origin }
      ])
    )
    const page: Page = yield* Effect.promise(() => context.newPage())
    return { page, email }
  }).pipe(Effect.provide(Sessions.Default))

const shot = (page: Page, name: string) =>
  Effect.promise(() => page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname, fullPage: true }))

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
      yield* Effect.promise(() => editor.page.getByRole("button", { name: "Harbour Night" }).click())
      const select = editor.page.getByLabel("Organisation")
      expect(yield* Effect.promise(() => select.inputValue())).toBe(tenant.orgId)
      yield* shot(editor.page, "console-events")
      yield* Effect.promise(() => editor.page.getByRole("button", { name: "Go live" }).click())
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
      yield* Effect.promise(() => viewer.page.getByRole("button", { name: "Harbour Night" }).click())
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
})
