import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { addVirtualAuthenticator, keepOnLoopback, launchChromium } from "@tapline/testing/browser"
import { freePort } from "@tapline/testing/ports"
import { Duration, Effect, Option } from "effect"
import type { Browser, Page } from "playwright-core"
import { seedDemo } from "../src/Demo/DemoSeed.js"
import * as SetupTokens from "../src/Setup/SetupTokens.js"
import { call } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * First run in headless Chromium (issue 29): on a server nobody has signed up to, the sign-in page says to
 * use the setup link; the link's page registers a passkey (DevTools virtual authenticator), and the person
 * lands on the console signed in as platform ADMIN and OWNER of the demo organisation. The link then works
 * no more, and the page answers 410.
 */

const port = await freePort()
const origin = `http://localhost:${port}`

const browser: Browser = await launchChromium()
const page: Page = await browser.newPage()
await keepOnLoopback(page)
const { cdp, authenticatorId } = await addVirtualAuthenticator(page)

afterAll(async () => {
  await browser.close()
})

const browse = <A>(f: () => Promise<A>) => Effect.promise(f)

/** Runs in the page: a GET with the session cookie the setup left. */
const pageGet = (path: string) =>
  browse(() =>
    page.evaluate(async (path) => {
      const response = await fetch(path, { credentials: "same-origin" })
      return { status: response.status, body: await response.text() }
    }, path)
  )

layer(adminHarness({ PORT: String(port), PUBLIC_URL: origin }), {
  excludeTestServices: true,
  timeout: 120_000
})("first run in Chromium", (it) => {
  it.effect("the setup link registers a passkey and opens the console as ADMIN and OWNER of the demo", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const demo = yield* seedDemo
      // No provider and no user: the sign-in page points to the setup link.
      yield* browse(() => page.goto(`${origin}/sign-in`))
      yield* browse(() => page.waitForSelector("#message:has-text('Tapline is not set up yet')"))
      // A passkey request the browser refuses (here: the page is not on the relying party's host) is
      // explained in words, not as the raw WebAuthn exception.
      yield* browse(() => page.goto(`http://127.0.0.1:${port}/sign-in`))
      yield* browse(() => page.waitForSelector("body[data-ready=true]"))
      yield* browse(() => page.click("#passkey-sign-in"))
      yield* browse(() => page.waitForSelector("#message:has-text('Passkey sign-in failed')"))
      const refusal = yield* browse(() => page.locator("#message").textContent())
      expect(refusal).toContain("public address")
      expect(refusal).not.toMatch(/SecurityError|relying party|registrable domain/i)

      const issued = Option.getOrThrow(yield* SetupTokens.issue(Duration.hours(1), "cli"))
      const link = SetupTokens.setupUrl(origin, issued.token)
      yield* browse(() => page.goto(link))
      yield* browse(() => page.waitForSelector("body[data-ready=true]"))
      expect(yield* browse(() => page.isChecked("#org-demo"))).toBe(true)
      yield* browse(() => page.fill("#email", "ana@example.com"))
      yield* browse(() => page.fill("#name", "Ana"))
      yield* browse(() => page.click("#finish"))
      yield* browse(() => page.waitForURL(`${origin}/console/`, { timeout: 60_000 }))

      const me = yield* pageGet("/api/v1/me")
      expect(me.status).toBe(200)
      const body = JSON.parse(me.body)
      expect(body).toMatchObject({
        email: "ana@example.com",
        name: "Ana",
        platformAdmin: true,
        memberships: [{ organizationId: demo.organizationId, role: "OWNER" }]
      })
      const credentials = yield* browse(() => cdp.send("WebAuthn.getCredentials", { authenticatorId }))
      expect(credentials.credentials).toHaveLength(1)
      const [passkey] = yield* sql<{ count: number }>`
          select count(*)::int as count from passkeys where user_id = ${body.userId}`
      expect(passkey?.count).toBe(1)
      const [session] = yield* sql<{ method: string }>`
          select method from sessions where user_id = ${body.userId} and revoked_at is null`
      expect(session?.method).toBe("passkey:setup")

      // The link worked once; setup is over for everyone.
      expect((yield* call("GET", "/setup")).status).toBe(410)
      const again = yield* call("POST", "/api/v1/setup/registration-options", {
        body: { token: issued.token, email: "eve@example.com" }
      })
      expect(again.status).toBe(410)
      const [used] = yield* sql<{
        usedAt: Date | null
      }>`select used_at from setup_tokens where used_at is not null`
      expect(used?.usedAt).toBeInstanceOf(Date)
      // The console keeps connections open; leaving it lets the server stop at once.
      yield* browse(() => page.goto("about:blank"))
    })
  )
})

const secondPort = await freePort()
const secondOrigin = `http://localhost:${secondPort}`

layer(adminHarness({ PORT: String(secondPort), PUBLIC_URL: secondOrigin }), {
  excludeTestServices: true,
  timeout: 120_000
})("first run in Chromium, without the demo", (it) => {
  it.effect(
    "the first person names a new organisation; a reserved slug is refused and the link still works",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const issued = Option.getOrThrow(yield* SetupTokens.issue(Duration.hours(1), "cli"))
        yield* browse(() => page.goto(SetupTokens.setupUrl(secondOrigin, issued.token)))
        yield* browse(() => page.waitForSelector("body[data-ready=true]"))
        // No demo here: only "create a new one" is offered.
        expect(yield* browse(() => page.isVisible("#demo-choice"))).toBe(false)
        yield* browse(() => page.fill("#email", "bo@example.com"))
        yield* browse(() => page.fill("#org-name", "Acme Festivals"))
        yield* browse(() => page.fill("#org-slug", "api"))
        yield* browse(() => page.click("#finish"))
        yield* browse(() => page.waitForSelector("#message:has-text('reserved')"))
        expect((yield* sql<{ count: number }>`select count(*)::int as count from users`)[0]?.count).toBe(0)
        yield* SetupTokens.check(issued.token)

        const slug = `acme-${Date.now().toString(36)}`
        yield* browse(() => page.fill("#org-slug", slug))
        yield* browse(() => page.click("#finish"))
        yield* browse(() => page.waitForURL(`${secondOrigin}/console/`, { timeout: 60_000 }))
        const me = JSON.parse((yield* pageGet("/api/v1/me")).body)
        const [organization] = yield* sql<{ id: string; name: string }>`
        select id, name from organizations where slug = ${slug}`
        expect(organization?.name).toBe("Acme Festivals")
        expect(me).toMatchObject({
          email: "bo@example.com",
          platformAdmin: true,
          memberships: [{ organizationId: organization!.id, role: "OWNER" }]
        })
        yield* browse(() => page.goto("about:blank"))
      })
  )
})
