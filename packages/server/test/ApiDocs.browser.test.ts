import { afterAll, expect, layer } from "@effect/vitest"
import { launchChromium } from "@tapline/testing/browser"
import { freePort } from "@tapline/testing/ports"
import { Effect } from "effect"
import type { Browser, Page } from "playwright-core"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * The API reference at /api/v1/docs, rendered in headless Chromium with the network cut: every request that
 * would leave loopback is aborted and recorded. The page must still draw the operations and their schemas
 * from Tapline alone, with no console error (a CSP violation is one).
 */

const port = await freePort()
const origin = `http://127.0.0.1:${port}`

const browser: Browser = await launchChromium()

afterAll(async () => {
  await browser.close()
})

const loopback = /^(https?|wss?):\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/

/** A page whose every non-loopback request is refused and written down, with its console errors. */
const cutOffPage = async () => {
  const context = await browser.newContext({ serviceWorkers: "block" })
  context.setDefaultTimeout(60_000)
  const page: Page = await context.newPage()
  const leaving: Array<string> = []
  const errors: Array<string> = []
  await context.route(
    (url) => !loopback.test(url.href) && !/^(data|blob):/.test(url.href),
    (route) => {
      leaving.push(route.request().url())
      return route.abort("internetdisconnected")
    }
  )
  // WebSockets are not routed like requests; they would show here.
  page.on("websocket", (socket) => {
    if (!loopback.test(socket.url())) leaving.push(socket.url())
  })
  const pending = new Set<string>()
  page.on("request", (request) => pending.add(`${request.resourceType()} ${request.url()}`))
  page.on("requestfinished", (request) => pending.delete(`${request.resourceType()} ${request.url()}`))
  page.on("requestfailed", (request) => pending.delete(`${request.resourceType()} ${request.url()}`))
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text())
  })
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`))
  page.on("requestfailed", (request) => {
    if (loopback.test(request.url())) errors.push(`failed: ${request.url()} ${request.failure()?.errorText}`)
  })
  return { page, context, leaving, errors, pending }
}

const browse = <A>(run: () => Promise<A>) => Effect.promise(run)

layer(adminHarness({ PORT: String(port), PUBLIC_URL: origin }), { timeout: 120_000 })(
  "API reference",
  (it) => {
    it.effect(
      "renders operations and schemas with no request leaving loopback and no console error",
      () =>
        Effect.gen(function* () {
          const { page, context, leaving, errors, pending } = yield* browse(cutOffPage)
          const response = yield* browse(() => page.goto(`${origin}/api/v1/docs`, { waitUntil: "load" }))
          expect(response?.status()).toBe(200)
          // Rendered, not just fetched: the Events tag lists its operations; the POST one shows its
          // description and its body schema (field names, types, a field's description).
          const operations = page.locator('ul[aria-label="Events endpoints"] a.endpoint')
          yield* browse(() => operations.first().waitFor())
          expect(yield* browse(() => operations.count())).toBe(8)
          yield* browse(() =>
            operations
              .filter({ hasText: /post\s*\/api\/v1\/organizations\/\{organizationId\}\/events$/ })
              .click()
          )
          const description = page.getByText("A new event starts as DRAFT in scheduled mode.")
          yield* browse(() => description.first().waitFor())
          // Scalar breaks camelCase names with zero-width spaces. The rendered text is the point here.
          // biome-ignore lint/performance/useDomNodeTextContent: what a reader sees, not the DOM's text
          const text = (yield* browse(() => page.locator("body").innerText())).replaceAll("\u200b", "")
          const operation = text.slice(text.indexOf("A new event starts as DRAFT"))
          expect(operation).toMatch(/Body\s+(required\s+)?application\/json\s+name\b/)
          expect(operation).toMatch(/estimatedAttendees\s+Copy link to estimatedAttendees\s+Type:\s+int/)
          expect(operation).toContain("an absolute http(s) URL, stored in serialised form")
          // Settled: no request of the page is still open. (Playwright's "networkidle" never came in one run of
          // two here, with nothing open.)
          const deadline = Date.now() + 60_000
          while (pending.size > 0) {
            if (Date.now() > deadline) throw new Error(`requests still open: ${[...pending].join(", ")}`)
            yield* Effect.sleep("50 millis")
          }
          const policy = response?.headers()["content-security-policy"] ?? ""
          yield* browse(() => context.close())
          expect({ leaving, errors }).toEqual({ leaving: [], errors: [] })
          // What the renderer needs and nothing more: no eval beyond WebAssembly, no other origin, no wildcard.
          expect(policy).toContain("default-src 'none'")
          expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval';")
          expect(policy).not.toMatch(/'unsafe-eval'|https?:|\*|data:/)
        }),
      120_000
    )
  }
)
