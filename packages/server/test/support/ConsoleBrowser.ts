import * as Fs from "node:fs"
import { SqlClient } from "@effect/sql"
import { afterAll, afterEach, vi } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { launchChromium } from "@tapline/testing/browser"
import { freePort } from "@tapline/testing/ports"
import { Effect } from "effect"
import type { Browser, Page } from "playwright-core"
import { Sessions } from "../../src/Auth/Sessions.js"
import type { Tenant } from "./AdminClient.js"

export type Role = "OWNER" | "EDITOR" | "VIEWER"

export const PHONE = { width: 390, height: 844 } as const

/** Where the screenshots go; `docs/console/` holds copies. */
export const SHOTS = new URL("../../../../.tapline-test/screenshots/", import.meta.url)

/**
 * The console in headless Chromium against one test file's server: a port for the server, one shared browser,
 * pages signed in with a real session, and a failure for any page that throws. Call it once, at the top of the
 * test file (it registers the file's hooks).
 */
export const consoleBrowser = async () => {
  // A browser test walks a whole screen (10–25 s on a quiet machine); on a busy 2-core machine that can pass
  // 30 s. Each step still fails on its own much sooner (the locators' timeouts) with what it waited for.
  vi.setConfig({ testTimeout: 120_000 })
  const port = await freePort()
  const origin = `http://localhost:${port}`
  Fs.mkdirSync(SHOTS, { recursive: true })
  const browser: Browser = await launchChromium()
  afterAll(() => browser.close())
  /** Uncaught errors in the console's pages: a screen that throws fails its test even if it looked right. */
  const pageErrors: Array<string> = []
  // A failed test leaves its pages open; their live streams would hold the server's shutdown.
  afterEach(async () => {
    await Promise.all(browser.contexts().map((context) => context.close()))
    const errors = pageErrors.splice(0)
    if (errors.length > 0) throw new Error(`the console threw in the browser: ${errors.join("; ")}`)
  })

  /** A user with `role` in the organisation (its name is the role), and a browser page signed in as them. */
  const signedIn = (
    orgId: string,
    role: Role,
    viewport: { readonly width: number; readonly height: number } = { width: 1100, height: 760 },
    options: { readonly name?: string; readonly platformAdmin?: boolean } = {}
  ) =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const email = `${role.toLowerCase()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}@example.com`
      const [user] = yield* sql<{ id: UserId }>`
        insert into users (email, name, platform_role)
        values (${email}, ${options.name ?? role}, ${options.platformAdmin === true ? "ADMIN" : "CUSTOMER"})
        returning id`
      yield* sql`insert into memberships (user_id, organization_id, role) values (${user!.id}, ${orgId}, ${role})`
      const tokens = yield* (yield* Sessions).create({
        userId: user!.id,
        method: "test",
        ip: null,
        userAgent: "console-test"
      })
      const context = yield* Effect.promise(() =>
        browser.newContext({ viewport: { ...viewport }, acceptDownloads: true })
      )
      yield* Effect.promise(() =>
        context.addCookies([
          { name: "tapline_session", value: tokens.accessToken, url: origin, httpOnly: true },
          { name: "tapline_csrf", value: tokens.csrfToken, url: origin }
        ])
      )
      // A missing element fails the step with its selector, well before the test's own timeout.
      context.setDefaultTimeout(20_000)
      const page: Page = yield* Effect.promise(() => context.newPage())
      page.on("pageerror", (error) => pageErrors.push(error.message))
      return { page, email, userId: user!.id }
    }).pipe(Effect.provide(Sessions.Default))

  return { port, origin, browser, signedIn }
}

export const go = <A>(f: () => Promise<A>) => Effect.promise(f)

/** The tenant's API path, for the checks made behind the page's back. */
export const api = (tenant: Tenant, path = "") => `/api/v1/organizations/${tenant.orgId}${path}`

/** Every form control of the page has a name a screen reader says (a label or aria-label). */
export const unlabelled = (page: Page) =>
  go(() =>
    page.evaluate(() => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } })
        .document
      return Array.from(
        doc.querySelectorAll("input, select, textarea") as ArrayLike<{
          labels: ArrayLike<unknown> | null
          getAttribute(name: string): string | null
          outerHTML: string
        }>
      )
        .filter((el) => (el.labels?.length ?? 0) === 0 && el.getAttribute("aria-label") === null)
        .map((el) => el.outerHTML)
    })
  )

/**
 * A full-page screenshot for the docs; `TAPLINE_SCREENSHOTS=0` skips them (scripts/test-all.sh, whose clean-up
 * removes the folder they go to). A picture, never an assertion: the checks around it are the test.
 */
export const shot = (page: Page, name: string) =>
  process.env.TAPLINE_SCREENSHOTS === "0"
    ? Effect.void
    : Effect.promise(() => page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname, fullPage: true }))

/** How far the page scrolls sideways (0: it fits the viewport). */
export const sidewaysOverflow = (page: Page) =>
  go(() =>
    page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } })
        .document.documentElement
      return root.scrollWidth - (globalThis as unknown as { innerWidth: number }).innerWidth
    })
  )

/**
 * The message shown next to a field (`Field`'s `data-field-error`), and the field is marked invalid; fails the
 * step when there is none.
 */
export const fieldError = (page: Page, fieldId: string) =>
  go(async () => {
    const message = page.locator(`[data-field-error="${fieldId}"]`)
    await message.waitFor()
    const invalid = await page.locator(`#${fieldId}`).getAttribute("aria-invalid")
    if (invalid !== "true") throw new Error(`#${fieldId} shows an error but is not marked invalid`)
    return (await message.textContent()) ?? ""
  })

/**
 * Text no page may show: the schema's own wording and the client's error kinds. A form that shows one of these
 * has let a raw schema error through.
 */
export const RAW_SCHEMA_ERROR = /Expected |actual |ParseError|HttpApiDecodeError|is missing|└─|Refinement/

/** The page's text holds no raw schema error. */
export const rawSchemaErrors = (page: Page) =>
  go(async () => {
    const text = (await page.locator("body").textContent()) ?? ""
    return text.match(RAW_SCHEMA_ERROR)?.[0] ?? null
  })

/**
 * The message a submission put next to `#fieldId`, with the field marked invalid and no raw schema error
 * anywhere on the page. With `value` and `submit`, first types `value` into the field and presses the button
 * named `submit`. With `alone`, waits until it is the page's only field message (but for the fields in `also`,
 * which the same rule refuses with it), so that a message left over from an earlier submission cannot pass
 * for this one.
 */
export const refusedField = (
  page: Page,
  fieldId: string,
  options: {
    readonly value?: string
    readonly submit?: string
    readonly alone?: boolean
    readonly also?: ReadonlyArray<string>
  } = {}
) =>
  Effect.gen(function* () {
    const { value, submit, alone = false, also = [] } = options
    if (value !== undefined) yield* go(() => page.locator(`#${fieldId}`).fill(value))
    if (submit !== undefined) yield* go(() => page.getByRole("button", { name: submit, exact: true }).click())
    const message = yield* fieldError(page, fieldId)
    if (alone)
      yield* go(async () => {
        const expected = [fieldId, ...also].map((id) => `:not([data-field-error="${id}"])`).join("")
        const others = page.locator(`[data-field-error]${expected}`)
        try {
          await others.first().waitFor({ state: "detached" })
        } catch (error) {
          const ids = await others.evaluateAll((shown) =>
            shown.map((e) => e.getAttribute("data-field-error"))
          )
          throw new Error(`#${fieldId} is refused, but so are ${ids.join(", ")}: ${String(error)}`)
        }
      })
    const raw = yield* rawSchemaErrors(page)
    if (raw !== null) return yield* Effect.dieMessage(`the page shows a raw schema error: ${raw}`)
    return message
  })

/**
 * Answers a `ConfirmButton`'s dialog: checks it asks (a modal dialog named `question`), then confirms with its
 * action button, or keeps everything with "Keep it".
 */
export const answerConfirm = (page: Page, question: string | RegExp, answer: "confirm" | "keep") =>
  go(async () => {
    const dialog = page.getByRole("dialog", { name: question })
    await dialog.waitFor()
    if (answer === "keep") await dialog.getByRole("button", { name: "Keep it" }).click()
    else await dialog.locator("button.danger").click()
    await dialog.waitFor({ state: "detached" })
  })

/** No "Loading…" status left on the page (a locator would refuse to wait on several at once). */
export const noneLoading = () => {
  const web = globalThis as unknown as {
    document: { querySelectorAll: (selector: string) => Iterable<{ textContent: string | null }> }
  }
  return ![...web.document.querySelectorAll('[role="status"]')].some((e) =>
    /^Loading/.test(e.textContent ?? "")
  )
}
