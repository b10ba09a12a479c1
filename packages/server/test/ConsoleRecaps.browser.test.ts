import * as Fs from "node:fs"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll } from "vitest"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { startAiPeer } from "./support/AiPeers.js"
import {
  api,
  consoleBrowser,
  go,
  PHONE,
  rawSchemaErrors,
  refusedField,
  shot,
  sidewaysOverflow,
  unlabelled
} from "./support/ConsoleBrowser.js"

/*
 * Issue 35, the console's recaps: an EDITOR writes a recap of an event and watches it stream in (the OpenAI
 * peer holds its answer halfway, so the page shows the first half alone before the rest), sees it grounded
 * with the query it was written from, edits it (a reload shows the edit) and downloads it as Markdown and PDF.
 * An OWNER sees the month's usage and sets, then removes, the budget; a spent budget is refused before any
 * stream. A server without a provider key shows no Recaps entry and no AI usage at all.
 */

const openai = await startAiPeer("openai")
afterAll(() => openai.close())

// Round prices, so a recap's cost is a figure the page shows in cents.
const PRICES = { "openai:gpt-4o-mini": { input: 10, output: 40 } }

const withAi = await consoleBrowser()
const withoutAi = await consoleBrowser()

const TEXT = "Harbour Lights opened the season. The night's figures came from Tapline's summary."
const WRONG = "The night drew 1234 taps."
const EDITED = "Harbour Lights opened the season, and the crowd stayed late."

const usage = (tenant: Tenant) =>
  Effect.map(
    call("GET", api(tenant, "/ai/usage"), { key: tenant.keys.VIEWER }),
    (r) =>
      r.body as {
        generations: number
        inputTokens: number
        outputTokens: number
        costUsd: number
        monthlyBudgetUsd: number | null
        providers: ReadonlyArray<{ provider: string; generations: number }>
      }
  )

layer(
  adminHarness({
    PORT: String(withAi.port),
    HOST: "127.0.0.1",
    AI_PROVIDERS: "openai",
    OPENAI_API_KEY: "sk-console-recaps",
    OPENAI_API_URL: openai.baseUrl,
    AI_TIMEOUT: "10 seconds",
    AI_PRICES: JSON.stringify(PRICES)
  }),
  { excludeTestServices: true, timeout: 120_000 }
)("console recaps", (it) => {
  it.effect(
    "an EDITOR watches a recap stream in, edits and downloads it; an OWNER sees the usage and sets the budget",
    () =>
      Effect.gen(function* () {
        const { origin, signedIn } = withAi
        const tenant = yield* createTenant(yield* bootstrapKey())
        yield* ok(
          yield* call("POST", api(tenant, "/events"), {
            key: tenant.keys.EDITOR,
            body: { name: "Harbour Lights" }
          }),
          201
        )
        openai.reset()
        let release = () => {}
        const pause = new Promise<void>((resolve) => {
          release = resolve
        })
        openai.script(
          {
            toolCall: { id: "call_summary", name: "summary", args: {} },
            usage: { input: 1000, output: 100 }
          },
          { text: TEXT, usage: { input: 2000, output: 400 }, pause }
        )

        // The Recaps entry is there (the server has a provider); the form names the event.
        const { page } = yield* signedIn(tenant.orgId, "EDITOR")
        yield* go(() => page.goto(`${origin}/console/events`))
        const nav = page.getByRole("navigation", { name: "Console" })
        yield* go(() => nav.getByRole("link", { name: "Recaps" }).click())
        const form = page.getByRole("form", { name: "New recap" })
        yield* go(() => form.getByLabel("Event", { exact: true }).selectOption({ label: "Harbour Lights" }))
        yield* go(() => form.getByRole("button", { name: "Write recap" }).click())

        // Streamed: the first half is on the page while the peer holds the rest, and nothing is stored yet.
        const half = TEXT.slice(0, Math.ceil(TEXT.length / 2))
        const streamed = page.getByTestId("recap-stream")
        yield* go(() => streamed.filter({ hasText: half }).waitFor())
        expect(yield* go(() => streamed.textContent())).toBe(half)
        expect(yield* go(() => page.getByTestId("recap-text").count())).toBe(0)
        release()

        // Done: the stored recap, grounded, with the query it was written from and what it cost.
        const text = page.getByTestId("recap-text")
        yield* go(() => text.filter({ hasText: TEXT }).waitFor())
        expect(yield* go(() => page.getByTestId("recap-grounding").textContent())).toBe(
          "Every number matches a query."
        )
        expect(yield* go(() => page.getByTestId("recap-provider").textContent())).toBe("openai")
        const detail = page.locator("article.recap")
        expect(yield* go(() => detail.textContent())).toContain("3000 in, 500 out")
        // (1000 + 2000) × 10 + (100 + 400) × 40 dollars per million tokens.
        expect(yield* go(() => detail.textContent())).toContain("$0.05")
        yield* go(() => detail.locator("summary", { hasText: "summary" }).click())
        expect(yield* go(() => detail.locator("details.tool-call pre").last().textContent())).toContain(
          "Harbour Lights"
        )
        yield* go(() => page.getByRole("table", { name: "Recaps" }).getByText("Harbour Lights").waitFor())
        expect(yield* unlabelled(page)).toEqual([])
        yield* shot(page, "console-recaps")

        // Edited and saved; the recap's own page, reloaded, shows the edit.
        yield* go(() => detail.getByRole("button", { name: "Edit" }).click())
        yield* go(() => page.getByLabel("Text (Markdown)").fill(EDITED))
        yield* go(() => page.getByRole("button", { name: "Save", exact: true }).click())
        yield* go(() => text.filter({ hasText: EDITED }).waitFor())
        yield* go(() => page.getByRole("table", { name: "Recaps" }).getByRole("link").first().click())
        yield* go(() => page.waitForURL(/\/console\/recaps\/[0-9a-f-]{36}$/))
        yield* go(() => page.reload())
        yield* go(() => text.filter({ hasText: EDITED }).waitFor())

        // The downloads: the Markdown holds the edited text, the PDF is a PDF.
        const [download] = yield* go(() =>
          Promise.all([
            page.waitForEvent("download"),
            page.getByRole("link", { name: "Download Markdown" }).click()
          ])
        )
        const markdown = Fs.readFileSync((yield* go(() => download.path()))!, "utf8")
        expect(markdown).toContain(EDITED)
        const pdfHref = yield* go(() => page.getByRole("link", { name: "Download PDF" }).getAttribute("href"))
        const pdf = yield* go(() => page.request.get(`${origin}${pdfHref}`))
        expect(pdf.status()).toBe(200)
        expect((yield* go(() => pdf.body())).subarray(0, 5).toString("latin1")).toBe("%PDF-")

        // A number no query returned, twice: the page says the first draft is written again, and the
        // number that stays is marked.
        yield* go(() => page.getByRole("link", { name: "← Recaps" }).click())
        const small = { input: 1000, output: 100 }
        openai.script(
          { toolCall: { id: "call_a", name: "summary", args: {} }, usage: small },
          { text: WRONG, usage: small },
          { toolCall: { id: "call_b", name: "summary", args: {} }, usage: small },
          { text: WRONG, usage: small }
        )
        yield* go(() => form.getByRole("button", { name: "Write recap" }).click())
        yield* go(() => page.getByTestId("recap-regenerating").filter({ hasText: "1234" }).waitFor())
        const marked = page.getByTestId("recap-grounding").filter({ hasText: "match no query" })
        yield* go(() => marked.waitFor())
        expect(yield* go(() => marked.textContent())).toContain("1234")
        expect(yield* go(() => text.locator("mark").allTextContents())).toEqual(["[unverified]"])
        expect(yield* go(() => text.textContent())).toBe("The night drew 1234 [unverified] taps.")

        // The only provider down once the stream has begun: its `error` message, in words, on the page.
        openai.script({ status: 503, message: "overloaded" })
        yield* go(() => form.getByRole("button", { name: "Write recap" }).click())
        yield* go(() =>
          page
            .getByRole("alert")
            .filter({ hasText: "no language-model provider could write the recap" })
            .waitFor()
        )
        yield* go(() => form.getByRole("button", { name: "Write recap" }).waitFor())

        // An EDITOR reads the usage (every draft is billed, a failed one is not) but has no budget control.
        const counted = yield* usage(tenant)
        expect(counted).toMatchObject({ generations: 3, inputTokens: 7000, outputTokens: 900 })
        yield* go(() => page.getByTestId("ai-generations").filter({ hasText: /^3$/ }).waitFor())
        expect(yield* go(() => page.getByRole("form", { name: "Monthly AI budget" }).count())).toBe(0)

        // An OWNER: the month's usage per provider, as the API counts it; a refused budget by its field, then
        // a budget set, and removed.
        const owner = (yield* signedIn(tenant.orgId, "OWNER")).page
        yield* go(() => owner.goto(`${origin}/console/recaps`))
        yield* go(() => owner.getByTestId("ai-generations").filter({ hasText: /^3$/ }).waitFor())
        // 0.05 for the first recap, 2 × (2000 × 10 + 200 × 40) / 1e6 for the second.
        expect(counted.costUsd).toBeCloseTo(0.106, 9)
        expect(yield* go(() => owner.getByTestId("ai-cost").textContent())).toBe("$0.11")
        const perProvider = owner.getByRole("table", { name: "AI usage per provider" })
        expect(
          yield* go(() =>
            perProvider
              .getByRole("row", { name: /openai/ })
              .locator("td")
              .allTextContents()
          )
        ).toEqual(["3", "7000", "900", "$0.11"])
        expect(
          yield* refusedField(owner, "ai-budget", { value: "-5", submit: "Save budget", alone: true })
        ).toMatch(/0 to 1,000,000/)
        yield* go(() => owner.locator("#ai-budget").fill("12.5"))
        yield* go(() => owner.getByRole("button", { name: "Save budget" }).click())
        yield* go(() => owner.getByTestId("ai-budget").filter({ hasText: "$12.50" }).waitFor())
        expect((yield* usage(tenant)).monthlyBudgetUsd).toBe(12.5)
        yield* shot(owner, "console-ai-usage")

        // A budget below what is spent: the next recap is refused before any stream, in the API's words,
        // and nothing reaches the provider.
        yield* go(() => owner.locator("#ai-budget").fill("0.01"))
        yield* go(() => owner.getByRole("button", { name: "Save budget" }).click())
        yield* go(() => owner.getByTestId("ai-budget").filter({ hasText: "$0.01" }).waitFor())
        const sent = openai.requests.length
        yield* go(() =>
          owner.getByRole("form", { name: "New recap" }).getByRole("button", { name: "Write recap" }).click()
        )
        yield* go(() =>
          owner
            .getByRole("alert")
            .filter({ hasText: /budget/i })
            .waitFor()
        )
        expect(openai.requests.length).toBe(sent)

        // Removed: empty means no budget.
        yield* go(() => owner.locator("#ai-budget").fill(""))
        yield* go(() => owner.getByRole("button", { name: "Save budget" }).click())
        yield* go(() => owner.getByTestId("ai-budget").filter({ hasText: "none" }).waitFor())
        expect((yield* usage(tenant)).monthlyBudgetUsd).toBeNull()

        // The organisation over dates: a missing day by its field, a range the API refuses in its words
        // (before any stream), then a recap of June.
        const ownerForm = owner.getByRole("form", { name: "New recap" })
        yield* go(() => ownerForm.getByLabel("The organisation over dates").check())
        expect(yield* refusedField(owner, "recap-from", { submit: "Write recap", alone: true })).toBe(
          "Choose the first day."
        )
        yield* go(() => owner.locator("#recap-from").fill("2024-01-01"))
        yield* go(() => owner.locator("#recap-to").fill("2026-06-30"))
        yield* go(() => ownerForm.getByRole("button", { name: "Write recap" }).click())
        yield* go(() => owner.getByRole("alert").filter({ hasText: "at most 400 days" }).waitFor())
        yield* go(() => owner.locator("#recap-from").fill("2026-06-01"))
        yield* go(() => ownerForm.getByRole("button", { name: "Write recap" }).click())
        const june = owner.locator("article.recap")
        yield* go(() => june.getByText("(organisation)").waitFor())
        expect(yield* go(() => june.textContent())).toContain(
          "from 2026-06-01 00:00:00 to 2026-07-01 00:00:00"
        )
        expect(yield* rawSchemaErrors(owner)).toBeNull()

        // On a phone neither the list nor a recap with its queries open scrolls sideways.
        const phone = (yield* signedIn(tenant.orgId, "VIEWER", PHONE)).page
        yield* go(() => phone.goto(`${origin}/console/recaps`))
        yield* go(() => phone.getByTestId("ai-generations").waitFor())
        expect(yield* sidewaysOverflow(phone)).toBe(0)
        yield* go(() => phone.getByRole("table", { name: "Recaps" }).getByRole("link").last().click())
        yield* go(() => phone.locator("details.tool-call summary").first().click())
        yield* go(() => phone.locator("details.tool-call pre").first().waitFor())
        expect(yield* sidewaysOverflow(phone)).toBe(0)
        expect(yield* go(() => phone.getByRole("button", { name: "Edit" }).count())).toBe(0)
      })
  )
})

layer(adminHarness({ PORT: String(withoutAi.port), HOST: "127.0.0.1" }), {
  excludeTestServices: true,
  timeout: 120_000
})("console without a language model", (it) => {
  it.effect("no provider key: no Recaps entry, no AI usage, and the recaps path says so", () =>
    Effect.gen(function* () {
      const { origin, signedIn } = withoutAi
      const tenant = yield* createTenant(yield* bootstrapKey())
      const reply = yield* call("GET", api(tenant, "/ai/usage"), { key: tenant.keys.OWNER })
      expect([reply.status, reply.body?._tag]).toEqual([404, "AiUnavailable"])
      const { page } = yield* signedIn(tenant.orgId, "OWNER")
      yield* go(() => page.goto(`${origin}/console/events`))
      const nav = page.getByRole("navigation", { name: "Console" })
      // The console has asked the server (the nav says what it was told) and shows no entry.
      yield* go(() => page.locator('nav[data-ai="unavailable"]').waitFor())
      expect(yield* go(() => nav.getByRole("link", { name: "Recaps" }).count())).toBe(0)
      yield* go(() => page.goto(`${origin}/console/recaps`))
      yield* go(() => page.getByText("Recaps are not set up on this server.").waitFor())
      expect(yield* go(() => page.getByText(/AI usage/).count())).toBe(0)
      expect(yield* go(() => page.getByRole("form", { name: "New recap" }).count())).toBe(0)
    })
  )
})
