import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Option, Schedule } from "effect"
import type { Page } from "playwright-core"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import {
  answerConfirm,
  api,
  consoleBrowser,
  fieldError,
  go,
  noneLoading,
  PHONE,
  rawSchemaErrors,
  refusedField,
  shot,
  sidewaysOverflow,
  unlabelled
} from "./support/ConsoleBrowser.js"

/*
 * Issue 30, the organisation's own tasks in the console, in headless Chromium against the running server:
 * creating an organisation (slug availability as it is typed), campaigns and their events, tags, the trash
 * (restore, purge) and the organisation's settings with its logo. Each form gets one invalid value per field,
 * shown next to that field; each confirmation is kept once and confirmed once; each role limit is checked in
 * the page (no controls) and at the API (refused).
 */

const { port, origin, signedIn } = await consoleBrowser()

/** Each test walks a whole screen with several roles: on a busy 2-core machine that is more than 30 s. */
const SLOW = 90_000

/** A real 1×1 PNG. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64"
)

interface Invalid {
  /** The field's id. */
  readonly id: string
  readonly bad: string
  /** What the field holds again once its message has been seen. */
  readonly good: string
  /** Fields the same rule refuses with it (a last day before the first: both days). */
  readonly also?: ReadonlyArray<string>
}

/**
 * Submits the form once per field with only that field invalid, and checks the message next to it, that it is
 * the only one (the previous field's went when its value was made good) and that no raw schema error reached
 * the page.
 */
const eachInvalid = (page: Page, submit: string, cases: ReadonlyArray<Invalid>) =>
  Effect.gen(function* () {
    for (const field of cases) {
      const refusal = { value: field.bad, submit, alone: true, also: field.also ?? [] }
      expect(yield* refusedField(page, field.id, refusal)).not.toBe("")
      yield* go(() => page.locator(`#${field.id}`).fill(field.good))
    }
  })

const count = (page: Page, role: "button" | "link" | "form", name: string | RegExp) =>
  go(() => page.getByRole(role, { name }).count())

/** Waits until the header's organisation list shows `name` as the one chosen. */
const chosenOrganisation = (page: Page, name: string) =>
  go(() =>
    page.waitForFunction((wanted) => {
      const select = (
        globalThis as unknown as {
          document: { querySelector(s: string): { selectedOptions: ArrayLike<{ text: string }> } | null }
        }
      ).document.querySelector("header select")
      return select?.selectedOptions[0]?.text === wanted
    }, name)
  )

const event = (tenant: Tenant, name: string) =>
  Effect.flatMap(call("POST", api(tenant, "/events"), { key: tenant.keys.EDITOR, body: { name } }), (r) =>
    ok(r, 201, "create event")
  )

layer(adminHarness({ PORT: String(port), HOST: "127.0.0.1" }), {
  excludeTestServices: true,
  timeout: 120_000
})("console: the organisation", (it) => {
  it.effect(
    "a signed-in user with no organisation creates one, the slug checked as typed; the console switches",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const taken = yield* createTenant(yield* bootstrapKey())
        const user = yield* signedIn(taken.orgId, "VIEWER")
        yield* sql`delete from memberships where user_id = ${user.userId}`
        const page = user.page
        yield* go(() => page.goto(`${origin}/console/`))
        yield* go(() => page.getByText("You are not a member of any organisation yet.").waitFor())
        yield* go(() => page.getByRole("link", { name: "Create an organisation" }).click())
        yield* go(() => page.getByRole("heading", { name: "New organisation" }).waitFor())

        const availability = page.getByTestId("slug-availability")
        yield* go(() => page.locator("#new-org-slug").fill(taken.slug))
        yield* go(() => availability.filter({ hasText: "taken" }).waitFor())
        yield* go(() => page.locator("#new-org-slug").fill("www"))
        yield* go(() => availability.filter({ hasText: "reserved" }).waitFor())
        const slug = `fresh-${process.pid}-${Math.random().toString(36).slice(2, 7)}`
        yield* go(() => page.locator("#new-org-name").fill("Fresh Festivals"))
        yield* go(() => page.locator("#new-org-slug").fill(slug))
        yield* go(() => availability.filter({ hasText: "available" }).waitFor())
        expect(yield* unlabelled(page)).toEqual([])
        yield* shot(page, "console-new-organisation")

        yield* eachInvalid(page, "Create organisation", [
          { id: "new-org-name", bad: "", good: "Fresh Festivals" },
          { id: "new-org-slug", bad: "Not A Slug!", good: slug },
          { id: "new-org-website", bad: "not a web address", good: "fresh.example" },
          { id: "new-org-email", bad: "nobody-at-all", good: "hello@fresh.example" }
        ])
        yield* go(() => page.getByRole("button", { name: "Create organisation", exact: true }).click())

        // The console switches to it, with the founder as its OWNER.
        yield* go(() => page.getByRole("heading", { name: "Events" }).waitFor())
        yield* chosenOrganisation(page, "Fresh Festivals")
        yield* go(() => page.getByText("(OWNER)").waitFor())
        const [created] = yield* sql<{ websiteUrl: string; contactEmail: string }>`
        select website_url, contact_email from organizations where slug = ${slug}`
        expect(created).toEqual({ websiteUrl: "https://fresh.example/", contactEmail: "hello@fresh.example" })
        // Any signed-in user may found one: the header offers it too.
        expect(yield* count(page, "link", "New organisation")).toBe(1)
      }),
    SLOW
  )

  it.effect(
    "campaigns: created, edited, events assigned and listed; delete asks first; a VIEWER reads only",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const dock = yield* event(tenant, "Dock Night")
        yield* event(tenant, "Pier Night")
        const page = (yield* signedIn(tenant.orgId, "EDITOR")).page
        yield* go(() => page.goto(`${origin}/console/campaigns`))
        yield* go(() => page.getByRole("heading", { name: "Campaigns" }).waitFor())
        yield* go(() => page.locator("#campaign-name").fill("Summer tour"))
        yield* go(() => page.locator("#campaign-starts").fill("2026-06-01"))
        yield* go(() => page.locator("#campaign-ends").fill("2026-08-31"))
        yield* eachInvalid(page, "Create campaign", [
          { id: "campaign-name", bad: "", good: "Summer tour" },
          { id: "campaign-ends", bad: "2026-05-01", good: "2026-08-31", also: ["campaign-starts"] }
        ])
        yield* go(() => page.getByRole("button", { name: "Create campaign", exact: true }).click())
        yield* go(() => page.getByRole("button", { name: "Summer tour", exact: true }).click())

        // Edited: name, status and dates.
        const panel = page.getByRole("region", { name: "Campaign Summer tour" })
        yield* go(() => panel.waitFor())
        yield* eachInvalid(page, "Save campaign", [
          { id: "campaign-edit-name", bad: "", good: "Summer tour 2026" },
          { id: "campaign-edit-starts", bad: "2026-09-30", good: "2026-06-01", also: ["campaign-edit-ends"] }
        ])
        yield* go(() => page.locator("#campaign-edit-status").selectOption("ACTIVE"))
        yield* go(() => page.getByRole("button", { name: "Save campaign", exact: true }).click())
        yield* go(() => page.getByRole("region", { name: "Campaign Summer tour 2026" }).waitFor())
        const campaigns = yield* ok(
          yield* call("GET", api(tenant, "/campaigns"), { key: tenant.keys.VIEWER }),
          200
        )
        expect(campaigns.body.items).toHaveLength(1)
        const campaign = campaigns.body.items[0]
        expect(campaign).toMatchObject({ name: "Summer tour 2026", status: "ACTIVE", startsOn: "2026-06-01" })

        // An event assigned (the event's campaign), then listed in the campaign.
        yield* go(() => page.getByLabel("Add an event").selectOption({ label: "Dock Night" }))
        yield* go(() => page.getByRole("button", { name: "Add to campaign" }).click())
        yield* go(() =>
          page.getByRole("table", { name: "Events of the campaign" }).getByText("Dock Night").waitFor()
        )
        const assigned = yield* ok(
          yield* call("GET", api(tenant, `/events/${dock.body.id}`), { key: tenant.keys.VIEWER }),
          200
        )
        expect(assigned.body.campaignId).toBe(campaign.id)
        yield* shot(page, "console-campaigns")

        // Delete: "Keep it" changes nothing; confirming moves it to the trash.
        yield* go(() => page.getByRole("button", { name: "Delete campaign" }).click())
        yield* answerConfirm(page, /^Delete the campaign/, "keep")
        expect(
          (yield* call("GET", api(tenant, `/campaigns/${campaign.id}`), { key: tenant.keys.VIEWER })).status
        ).toBe(200)
        yield* go(() => page.getByRole("button", { name: "Delete campaign" }).click())
        yield* answerConfirm(page, /^Delete the campaign/, "confirm")
        yield* go(() => page.getByText("No campaigns yet.").waitFor())
        const trash = yield* ok(
          yield* call("GET", api(tenant, "/campaigns?deleted=true"), { key: tenant.keys.VIEWER }),
          200
        )
        expect(trash.body.items.map((c: { id: string }) => c.id)).toEqual([campaign.id])

        // A VIEWER sees a campaign and its events, and no control; the API refuses the change.
        yield* ok(
          yield* call("POST", api(tenant, `/campaigns/${campaign.id}/restore`), { key: tenant.keys.EDITOR }),
          200
        )
        const viewer = (yield* signedIn(tenant.orgId, "VIEWER")).page
        yield* go(() => viewer.goto(`${origin}/console/campaigns`))
        yield* go(() => viewer.getByRole("button", { name: "Summer tour 2026", exact: true }).click())
        yield* go(() =>
          viewer.getByRole("table", { name: "Events of the campaign" }).getByText("Dock Night").waitFor()
        )
        expect(yield* count(viewer, "form", /campaign/i)).toBe(0)
        expect(yield* count(viewer, "button", /Delete|Add to campaign|Remove/)).toBe(0)
        expect(
          (yield* call("PATCH", api(tenant, `/campaigns/${campaign.id}`), {
            key: tenant.keys.VIEWER,
            body: { name: "Mine" }
          })).status
        ).toBe(403)
      }),
    SLOW
  )

  it.effect(
    "tags: created, renamed and deleted, invalid values by their fields; a VIEWER reads only",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const page = (yield* signedIn(tenant.orgId, "EDITOR")).page
        yield* go(() => page.goto(`${origin}/console/tags`))
        yield* go(() => page.getByRole("heading", { name: "Tags" }).waitFor())
        yield* go(() => page.locator("#tag-name").fill("VIP"))
        yield* eachInvalid(page, "Create tag", [
          { id: "tag-name", bad: "", good: "VIP" },
          { id: "tag-color", bad: "gold", good: "#d4af37" }
        ])
        yield* go(() => page.getByRole("button", { name: "Create tag", exact: true }).click())
        yield* go(() => page.getByRole("cell", { name: "VIP", exact: true }).waitFor())

        yield* go(() => page.getByRole("button", { name: "Rename VIP" }).click())
        yield* eachInvalid(page, "Save tag", [{ id: "tag-rename-name", bad: "", good: "Guests" }])
        yield* go(() => page.getByRole("button", { name: "Save tag", exact: true }).click())
        yield* go(() => page.getByRole("cell", { name: "Guests", exact: true }).waitFor())
        const tags = yield* ok(yield* call("GET", api(tenant, "/tags"), { key: tenant.keys.VIEWER }), 200)
        expect(tags.body.items.map((t: { name: string; color: string }) => [t.name, t.color])).toEqual([
          ["Guests", "#d4af37"]
        ])
        expect(yield* unlabelled(page)).toEqual([])
        yield* shot(page, "console-tags")

        // A second tag, deleted after the dialog asked: the first one stays.
        yield* go(() => page.locator("#tag-name").fill("Crew"))
        yield* go(() => page.getByRole("button", { name: "Create tag", exact: true }).click())
        yield* go(() => page.getByRole("button", { name: "Delete Crew" }).click())
        yield* go(() => page.getByRole("dialog", { name: "Delete the tag Crew?" }).waitFor())
        yield* go(() => page.getByRole("button", { name: "Delete tag", exact: true }).click())
        yield* go(() => page.getByRole("cell", { name: "Crew", exact: true }).waitFor({ state: "detached" }))
        const left = yield* ok(yield* call("GET", api(tenant, "/tags"), { key: tenant.keys.VIEWER }), 200)
        expect(left.body.items.map((t: { name: string }) => t.name)).toEqual(["Guests"])

        const viewer = (yield* signedIn(tenant.orgId, "VIEWER")).page
        yield* go(() => viewer.goto(`${origin}/console/tags`))
        yield* go(() => viewer.getByRole("cell", { name: "Guests", exact: true }).waitFor())
        expect(yield* count(viewer, "button", /Rename|Delete|Create tag/)).toBe(0)
        expect(
          (yield* call("PATCH", api(tenant, `/tags/${tags.body.items[0].id}`), {
            key: tenant.keys.VIEWER,
            body: { name: "Mine" }
          })).status
        ).toBe(403)
      }),
    SLOW
  )

  it.effect(
    "trash: an EDITOR restores, an OWNER purges after confirming; a VIEWER sees no controls",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const key = tenant.keys.EDITOR
        const gone = yield* event(tenant, "Gone Night")
        const back = yield* event(tenant, "Back Night")
        const campaign = yield* ok(
          yield* call("POST", api(tenant, "/campaigns"), { key, body: { name: "Old tour" } }),
          201
        )
        yield* ok(
          yield* call("POST", api(tenant, `/events/${back.body.id}/bands/import`), {
            key,
            body: { bands: [{ bandUid: "TR-0001" }] }
          }),
          200
        )
        const bands = yield* ok(yield* call("GET", api(tenant, "/bands"), { key }), 200)
        const band = bands.body.items[0]
        for (const path of [
          `/events/${gone.body.id}`,
          `/events/${back.body.id}`,
          `/campaigns/${campaign.body.id}`
        ]) {
          yield* ok(yield* call("DELETE", api(tenant, path), { key }), 204)
        }
        yield* ok(yield* call("DELETE", api(tenant, `/bands/${band.id}`), { key }), 204)

        // A VIEWER sees the trash and no control; the API refuses a restore and a purge.
        const viewer = (yield* signedIn(tenant.orgId, "VIEWER")).page
        yield* go(() => viewer.goto(`${origin}/console/trash`))
        yield* go(() => viewer.getByRole("cell", { name: "Gone Night", exact: true }).waitFor())
        yield* go(() => viewer.getByRole("cell", { name: "TR-0001", exact: true }).waitFor())
        expect(yield* count(viewer, "button", /Restore|Delete for good/)).toBe(0)
        expect(
          (yield* call("POST", api(tenant, `/events/${gone.body.id}/restore`), { key: tenant.keys.VIEWER }))
            .status
        ).toBe(403)

        // An EDITOR restores; purging is an OWNER's, so no purge control, and the API refuses it.
        const editor = (yield* signedIn(tenant.orgId, "EDITOR")).page
        yield* go(() => editor.goto(`${origin}/console/trash`))
        yield* go(() => editor.getByRole("button", { name: "Restore Back Night" }).click())
        yield* go(() =>
          editor.getByRole("cell", { name: "Back Night", exact: true }).waitFor({ state: "detached" })
        )
        yield* go(() => editor.getByRole("button", { name: "Restore TR-0001" }).click())
        yield* go(() =>
          editor.getByRole("cell", { name: "TR-0001", exact: true }).waitFor({ state: "detached" })
        )
        expect((yield* call("GET", api(tenant, `/events/${back.body.id}`), { key })).status).toBe(200)
        expect((yield* call("GET", api(tenant, `/bands/${band.id}`), { key })).status).toBe(200)
        expect(yield* count(editor, "button", /Delete for good/)).toBe(0)
        expect(
          (yield* call("DELETE", api(tenant, `/events/${gone.body.id}?purge=true`), { key })).status
        ).toBe(403)

        // An OWNER purges: "Keep it" leaves it in the trash, confirming deletes it for good.
        const owner = (yield* signedIn(tenant.orgId, "OWNER")).page
        yield* go(() => owner.goto(`${origin}/console/trash`))
        yield* go(() => owner.getByRole("cell", { name: "Old tour", exact: true }).waitFor())
        yield* shot(owner, "console-trash")
        yield* go(() => owner.getByRole("button", { name: "Delete Gone Night for good" }).click())
        yield* answerConfirm(owner, /^Delete the event "Gone Night" for good/, "keep")
        const stillThere = yield* ok(yield* call("GET", api(tenant, "/events?deleted=true"), { key }), 200)
        expect(stillThere.body.items.map((e: { id: string }) => e.id)).toEqual([gone.body.id])
        yield* go(() => owner.getByRole("button", { name: "Delete Gone Night for good" }).click())
        yield* answerConfirm(owner, /^Delete the event "Gone Night" for good/, "confirm")
        yield* go(() =>
          owner.getByRole("cell", { name: "Gone Night", exact: true }).waitFor({ state: "detached" })
        )
        const purged = yield* ok(yield* call("GET", api(tenant, "/events?deleted=true"), { key }), 200)
        expect(purged.body.items).toEqual([])
        yield* go(() => owner.getByRole("button", { name: "Delete Old tour for good" }).click())
        yield* answerConfirm(owner, /^Delete the campaign "Old tour" for good/, "confirm")
        yield* go(() => owner.getByText("No campaigns in the trash.").waitFor())
        expect((yield* call("GET", api(tenant, "/campaigns?deleted=true"), { key })).body.items).toEqual([])
      }),
    SLOW
  )

  it.effect(
    "settings: an OWNER edits name and branding and sets a logo; bad files are named; VIEWER reads",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const page = (yield* signedIn(tenant.orgId, "OWNER")).page
        yield* go(() => page.goto(`${origin}/console/settings`))
        yield* go(() => page.getByRole("heading", { name: "Organisation settings" }).waitFor())
        yield* go(() => page.locator("#org-name").fill("Harbour Live"))
        yield* go(() => page.locator("#org-primary-color").fill("#0a7b83"))
        yield* eachInvalid(page, "Save settings", [
          { id: "org-name", bad: "", good: "Harbour Live" },
          { id: "org-website", bad: "not a web address", good: "https://harbour.example/" },
          { id: "org-email", bad: "nobody-at-all", good: "ops@harbour.example" },
          { id: "org-primary-color", bad: "teal", good: "#0a7b83" },
          { id: "org-accent-color", bad: "#12345", good: "#ffcc00" }
        ])
        yield* go(() => page.getByRole("button", { name: "Save settings", exact: true }).click())
        // The header's organisation list follows the new name.
        yield* chosenOrganisation(page, "Harbour Live")

        // A file of another type, or too large, is named next to the field, and nothing is sent.
        const logo = page.locator("#org-logo")
        yield* go(() =>
          logo.setInputFiles({ name: "logo.svg", mimeType: "image/svg+xml", buffer: Buffer.from("<svg/>") })
        )
        yield* go(() => page.getByRole("button", { name: "Upload logo" }).click())
        expect(yield* fieldError(page, "org-logo")).toContain("PNG, JPEG or WebP")
        yield* go(() =>
          logo.setInputFiles({ name: "big.png", mimeType: "image/png", buffer: Buffer.alloc(600 * 1024, 1) })
        )
        yield* go(() => page.getByRole("button", { name: "Upload logo" }).click())
        expect(yield* fieldError(page, "org-logo")).toContain("512 KB")
        // Named .png but not a PNG: the API's refusal is said in words, next to the field.
        yield* go(() =>
          logo.setInputFiles({ name: "fake.png", mimeType: "image/png", buffer: Buffer.from("GIF89a") })
        )
        yield* go(() => page.getByRole("button", { name: "Upload logo" }).click())
        expect(yield* fieldError(page, "org-logo")).toContain("not a PNG")
        expect(yield* rawSchemaErrors(page)).toBeNull()

        yield* go(() => logo.setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: PNG }))
        yield* go(() => page.getByRole("button", { name: "Upload logo" }).click())
        const image = page.getByRole("img", { name: "Logo of Harbour Live" })
        yield* go(() => image.waitFor())
        expect(
          yield* go(() => image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
        ).toBe(1)
        const org = yield* ok(yield* call("GET", api(tenant), { key: tenant.keys.VIEWER }), 200)
        expect(org.body).toMatchObject({
          name: "Harbour Live",
          websiteUrl: "https://harbour.example/",
          contactEmail: "ops@harbour.example",
          branding: { primaryColor: "#0a7b83", accentColor: "#ffcc00" }
        })
        expect(new URL(org.body.branding.logoUrl).pathname).toMatch(new RegExp(`^/logos/${tenant.orgId}/`))
        expect(yield* unlabelled(page)).toEqual([])
        yield* shot(page, "console-organisation-settings")

        // Saving the branding again keeps the logo.
        yield* go(() => page.locator("#org-accent-color").fill("#ff8800"))
        yield* go(() => page.getByRole("button", { name: "Save settings", exact: true }).click())
        yield* go(() => page.getByRole("status").filter({ hasText: "Saved." }).waitFor())
        const saved = yield* ok(yield* call("GET", api(tenant), { key: tenant.keys.VIEWER }), 200)
        expect(saved.body.branding.logoUrl).toBe(org.body.branding.logoUrl)

        // The SMS help text (the answer to a texted HELP, issue 34) is one more setting.
        expect(org.body.smsHelpText).toBeUndefined()
        yield* go(() => page.locator("#org-sms-help").fill("Harbour Live texts: reply STOP to stop."))
        yield* go(() => page.getByRole("button", { name: "Save settings", exact: true }).click())
        // "Saved." may still show from the save above: the API is asked until the new text is there.
        const helpText = yield* call("GET", api(tenant), { key: tenant.keys.VIEWER }).pipe(
          Effect.map((reply) => reply.body.smsHelpText as unknown),
          Effect.filterOrFail((text) => text === "Harbour Live texts: reply STOP to stop."),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds"))),
          Effect.option
        )
        expect(helpText).toEqual(Option.some("Harbour Live texts: reply STOP to stop."))

        // Remove: "Keep it" keeps it; confirming removes it.
        yield* go(() => page.getByRole("button", { name: "Remove logo" }).click())
        yield* answerConfirm(page, "Remove the logo?", "keep")
        expect(
          (yield* call("GET", api(tenant), { key: tenant.keys.VIEWER })).body.branding.logoUrl
        ).toBeDefined()
        yield* go(() => page.getByRole("button", { name: "Remove logo" }).click())
        yield* answerConfirm(page, "Remove the logo?", "confirm")
        yield* go(() => image.waitFor({ state: "detached" }))
        expect(
          (yield* call("GET", api(tenant), { key: tenant.keys.VIEWER })).body.branding.logoUrl
        ).toBeUndefined()

        // A VIEWER reads the settings and has no control; the API refuses the change.
        const viewer = (yield* signedIn(tenant.orgId, "VIEWER")).page
        yield* go(() => viewer.goto(`${origin}/console/settings`))
        yield* go(() => viewer.locator("main").getByText("Harbour Live", { exact: true }).waitFor())
        expect(yield* count(viewer, "button", /Save settings|Upload logo|Remove logo/)).toBe(0)
        expect(
          (yield* call("PATCH", api(tenant), { key: tenant.keys.VIEWER, body: { name: "Mine" } })).status
        ).toBe(403)

        // On a phone, an OWNER's view of each of these screens fits without scrolling sideways.
        const phone = (yield* signedIn(tenant.orgId, "OWNER", PHONE)).page
        for (const path of ["campaigns", "tags", "trash", "settings", "organisations/new"]) {
          yield* go(() => phone.goto(`${origin}/console/${path}`))
          yield* go(() => phone.getByRole("heading", { level: 1 }).waitFor())
          // Every section's loading line gone (a screen may load several at once: trash has three).
          yield* go(() => phone.waitForFunction(noneLoading))
          expect([path, yield* sidewaysOverflow(phone)]).toEqual([path, 0])
        }
      }),
    SLOW
  )
})
