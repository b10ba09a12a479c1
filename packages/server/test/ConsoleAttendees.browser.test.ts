import * as Fs from "node:fs"
import { afterAll, expect, layer } from "@effect/vitest"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Effect, Schedule } from "effect"
import type { Locator, Page } from "playwright-core"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import {
  answerConfirm,
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
 * Issue 33, the console's Attendees, Journeys and Deliveries screens in Chromium, against the real server
 * (writer, journeys' sender) on PostgreSQL, Redis and a real SMTP server: an attendee added (the API's phone
 * check shown by its field), found, edited, exported and erased; a journey made from its event's page (an
 * unknown template variable named by its field), previewed, tested to the signed-in user's inbox, and a dead
 * message redriven until the SMTP server has it. Every outcome is checked behind the page's back.
 */

const smtp = await startSmtpPeer()
afterAll(() => smtp.stop())

const { port, origin, signedIn } = await consoleBrowser()

const seed = Math.floor(Math.random() * 1e9)
console.log(`ConsoleAttendees seed ${seed}`)
const address = (who: string) => `${who}-${seed}@people.test`

/** Retries `probe` until it answers, failing with `what` it waited for. */
const waitFor = <A, R>(what: string, probe: Effect.Effect<A | undefined, unknown, R>) =>
  probe.pipe(
    Effect.flatMap((value) =>
      value === undefined ? Effect.fail("not yet" as const) : Effect.succeed(value)
    ),
    Effect.retry({ while: (e) => e === "not yet", schedule: Schedule.spaced("100 millis") }),
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`waiting for ${what}`) }),
    Effect.orDie
  )

const mailTo = (to: string, subject?: RegExp) =>
  waitFor(
    `a mail to ${to}${subject === undefined ? "" : ` with subject ${subject}`}`,
    Effect.sync(() =>
      smtp.received.find(
        (m) => JSON.stringify(m.to).includes(to) && (subject === undefined || subject.test(m.subject ?? ""))
      )
    )
  )

/** The API's registrants of the tenant, read by an EDITOR key. */
const registrants = (tenant: Tenant, query = "") =>
  Effect.map(
    Effect.flatMap(
      call("GET", api(tenant, `/registrants?limit=100${query}`), { key: tenant.keys.EDITOR }),
      (r) => ok(r, 200, "registrants")
    ),
    // biome-ignore lint/suspicious/noExplicitAny: a JSON reply read field by field
    (reply) => reply.body.items as Array<any>
  )

const bandIdOf = (tenant: Tenant, eventId: string, uid: string) =>
  Effect.map(
    Effect.flatMap(
      call("GET", api(tenant, `/bands?limit=10&deleted=false&eventId=${eventId}&q=${uid}`), {
        key: tenant.keys.EDITOR
      }),
      (r) => ok(r, 200, "bands")
    ),
    (reply) => (reply.body.items as Array<{ id: string; bandUid: string }>).find((b) => b.bandUid === uid)!.id
  )

const register = (tenant: Tenant, bandId: string, name: string, email: string) =>
  Effect.flatMap(
    call("POST", api(tenant, "/registrants"), {
      key: tenant.keys.EDITOR,
      body: { bandId, name, email, consents: [{ channel: "email", granted: true, wording: "News, yes" }] }
    }),
    (reply) => ok(reply, 201, "registrant")
  )

/** A delivery row's status cell, by the message's id. */
const statusOf = (page: Page | Locator, messageId: string) =>
  page.locator(`tr[data-message="${messageId}"] [data-testid="journey-message-status"]`)

layer(
  adminHarness(
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      EMAIL_PROVIDERS: "smtp",
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_FROM: "Tapline <journeys@tapline.test>",
      EMAIL_TIMEOUT: "3 seconds",
      JOURNEY_POLL_INTERVAL: "100 millis",
      JOURNEY_RETRY_DELAYS: "0 seconds,0 seconds",
      QUOTA_TEST_PINGS_PER_MINUTE: "100"
    },
    { role: "all" }
  ),
  { excludeTestServices: true, timeout: 120_000 }
)("console: attendees, journeys and deliveries", (it) => {
  it.effect("attendees: added with the API's phone check by its field, found, edited, exported, erased", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const { eventId } = yield* liveEvent(tenant, ["A-1", "A-2"], "Harbour")
      const owner = yield* signedIn(tenant.orgId, "OWNER")
      const page = owner.page
      yield* go(() => page.goto(`${origin}/console/attendees`))
      yield* go(() => page.getByText("No attendees match.").waitFor())

      // Add: a band no event has, then a number its country's plan does not know, each by its field.
      yield* go(() => page.getByRole("button", { name: "Add an attendee" }).click())
      expect(yield* unlabelled(page)).toEqual([])
      const ada = address("ada")
      yield* go(() => page.locator("#attendee-new-name").fill("Ada Lovelace"))
      yield* go(() => page.locator("#attendee-new-email").fill(ada))
      expect(
        yield* refusedField(page, "attendee-new-band", { value: "Z-9", submit: "Add attendee", alone: true })
      ).toBe("no band Z-9 in this event")
      yield* go(() => page.locator("#attendee-new-band").fill("A-1"))
      expect(
        yield* refusedField(page, "attendee-new-phone", {
          value: "+44 12",
          submit: "Add attendee",
          alone: true
        })
      ).toBe("not a valid number for its country code")
      expect(yield* registrants(tenant)).toEqual([])
      // A consent given needs the text shown: refused before anything is sent.
      yield* go(() => page.locator("#attendee-new-phone").fill("+44 7911 123456"))
      yield* go(() => page.locator("#attendee-new-consent-email").selectOption("granted"))
      expect(
        yield* refusedField(page, "attendee-new-wording-email", { submit: "Add attendee", alone: true })
      ).toBe("Say what the person was shown when they agreed.")
      yield* go(() => page.locator("#attendee-new-wording-email").fill("Send me news about Harbour."))
      yield* go(() => page.getByRole("button", { name: "Add attendee", exact: true }).click())

      // The attendee's page: stored in E.164, consent given with its text, one line of history.
      yield* go(() => page.getByRole("heading", { name: "Ada Lovelace", level: 1 }).waitFor())
      expect(yield* go(() => page.getByTestId("attendee-phone").textContent())).toBe("+447911123456")
      expect(yield* go(() => page.getByTestId("consent-email").textContent())).toBe("given")
      expect(yield* go(() => page.getByTestId("consent-sms").textContent())).toBe("never asked")
      expect(yield* go(() => page.getByTestId("push-devices").textContent())).toBe("No push device.")
      const history = page.getByRole("table", { name: "Consent history" }).locator("tbody tr")
      yield* go(() => history.filter({ hasText: "Send me news about Harbour." }).waitFor())
      const [stored] = yield* registrants(tenant)
      expect(stored).toMatchObject({
        name: "Ada Lovelace",
        email: ada,
        phone: "+447911123456",
        source: "api"
      })

      // Edit: email consent withdrawn, a malformed email refused by its field first.
      yield* go(() => page.getByRole("button", { name: "Edit", exact: true }).click())
      expect(
        yield* refusedField(page, "attendee-edit-email", { value: "not-an-address", submit: "Save attendee" })
      ).toBe("An email address such as ada@example.com.")
      yield* go(() => page.locator("#attendee-edit-email").fill(ada))
      yield* go(() => page.locator("#attendee-edit-consent-email").selectOption("withdrawn"))
      yield* go(() => page.getByRole("button", { name: "Save attendee" }).click())
      yield* go(() => page.getByTestId("consent-email").getByText("withdrawn").waitFor())
      yield* go(() => history.nth(1).waitFor())
      expect(yield* go(() => history.count())).toBe(2)
      expect((yield* registrants(tenant))[0].consents).toMatchObject([{ channel: "email", granted: false }])
      yield* shot(page, "console-attendee")

      // Export: the browser downloads everything held about the person.
      const [download] = yield* go(() =>
        Promise.all([
          page.waitForEvent("download"),
          page.getByRole("link", { name: "Export", exact: true }).click()
        ])
      )
      expect(download.suggestedFilename()).toBe("attendee-A-1.json")
      const exported = JSON.parse(Fs.readFileSync((yield* go(() => download.path()))!, "utf8"))
      expect(exported.registrant).toMatchObject({ email: ada, bandUid: "A-1" })
      expect(exported.consentHistory).toHaveLength(2)

      // The list: found by name, not by another, filtered by consent.
      yield* go(() => page.getByRole("link", { name: "← Attendees" }).click())
      const search = page.getByLabel("Search")
      yield* go(() => search.fill("lovel"))
      yield* go(() => page.getByRole("link", { name: "Ada Lovelace" }).waitFor())
      yield* go(() => search.fill("nobody"))
      yield* go(() => page.getByText("No attendees match.").waitFor())
      yield* go(() => search.fill(""))
      yield* go(() => page.getByLabel("Consent").selectOption("email"))
      yield* go(() => page.getByText("No attendees match.").waitFor())
      yield* go(() => page.getByLabel("Consent").selectOption(""))
      // A band has one registrant: a second is refused by the band's field, in the API's words.
      yield* go(() => page.getByRole("button", { name: "Add an attendee" }).click())
      yield* go(() => page.locator("#attendee-new-name").fill("Second"))
      expect(
        yield* refusedField(page, "attendee-new-band", { value: "A-1", submit: "Add attendee", alone: true })
      ).toBe("the band has a registrant already")
      yield* go(() => page.getByRole("button", { name: "Add an attendee" }).click())

      // An EDITOR reads and edits, but cannot erase; a VIEWER sees none of it.
      const bo = yield* register(tenant, yield* bandIdOf(tenant, eventId, "A-2"), "Bo", address("bo"))
      const editor = yield* signedIn(tenant.orgId, "EDITOR")
      yield* go(() => editor.page.goto(`${origin}/console/attendees/${bo.body.id}`))
      yield* go(() => editor.page.getByRole("heading", { name: "Bo", level: 1 }).waitFor())
      yield* go(() => editor.page.getByRole("button", { name: "Edit", exact: true }).waitFor())
      expect(yield* go(() => editor.page.getByRole("button", { name: "Erase" }).count())).toBe(0)
      const viewer = yield* signedIn(tenant.orgId, "VIEWER")
      yield* go(() => viewer.page.goto(`${origin}/console/attendees`))
      yield* go(() => viewer.page.getByText("are for editors and owners").waitFor())
      expect(yield* go(() => viewer.page.getByRole("link", { name: "Attendees" }).count())).toBe(0)
      expect(yield* go(() => viewer.page.getByRole("button", { name: "Add an attendee" }).count())).toBe(0)

      // On a phone the list and an attendee's page stack into cards: nothing scrolls sideways.
      const phone = (yield* signedIn(tenant.orgId, "OWNER", PHONE)).page
      yield* go(() => phone.goto(`${origin}/console/attendees`))
      yield* go(() => phone.getByRole("link", { name: "Ada Lovelace" }).waitFor())
      expect(yield* sidewaysOverflow(phone)).toBe(0)
      yield* go(() => phone.getByRole("link", { name: "Ada Lovelace" }).click())
      yield* go(() => phone.getByRole("table", { name: "Consent history" }).waitFor())
      yield* shot(phone, "console-phone-attendee")
      expect(yield* sidewaysOverflow(phone)).toBe(0)

      // Erase (OWNER), on confirmation: gone from the list and from the API.
      yield* go(() => page.getByRole("link", { name: "Ada Lovelace" }).click())
      yield* go(() => page.getByRole("button", { name: "Erase", exact: true }).click())
      yield* answerConfirm(page, "Erase Ada Lovelace?", "confirm")
      yield* go(() => page.getByRole("link", { name: "Bo", exact: true }).waitFor())
      expect(yield* go(() => page.getByRole("link", { name: "Ada Lovelace" }).count())).toBe(0)
      expect((yield* registrants(tenant)).map((r) => r.name)).toEqual(["Bo"])
      const gone = yield* call("GET", api(tenant, `/registrants/${stored.id}`), { key: tenant.keys.EDITOR })
      expect(gone.status).toBe(404)
      expect(yield* rawSchemaErrors(page)).toBeNull()
    })
  )

  it.effect(
    "journeys: from the event's page, a template refused by its field, preview, test mail, redrive",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const { eventId } = yield* liveEvent(tenant, ["J-1", "J-2"], "Quay Nights")
        const editor = yield* signedIn(tenant.orgId, "EDITOR")
        const page = editor.page

        // From the event's page to its journeys.
        yield* go(() => page.goto(`${origin}/console/events/${eventId}`))
        yield* go(() => page.getByRole("main").getByRole("link", { name: "Journeys", exact: true }).click())
        yield* go(() => page.getByText("No journeys for this event yet.").waitFor())
        expect(new URL(page.url()).searchParams.get("eventId")).toBe(eventId)

        // The channels' state (issue 34): email by its provider; SMS and push shown as not configured, and not
        // to be chosen in the form.
        const channels = page.getByRole("list", { name: "Channels" })
        yield* go(() => channels.getByText("Email: smtp").waitFor())
        yield* go(() => channels.getByText("SMS: not configured (no provider)").waitFor())
        yield* go(() => channels.getByText("Push notification: not configured (no provider)").waitFor())
        const channel = page.locator("#journey-new-channel")
        expect(yield* go(() => channel.inputValue())).toBe("email")
        expect(yield* go(() => channel.locator('option[value="sms"]').isDisabled())).toBe(true)
        expect(yield* go(() => channel.locator('option[value="push"]').isDisabled())).toBe(true)

        // A trigger that needs a window type shows its picker; one after the event, its minutes.
        const trigger = page.locator("#journey-new-trigger")
        yield* go(() => trigger.selectOption("window_tap"))
        yield* go(() => page.locator("#journey-new-window-type").waitFor())
        yield* go(() => trigger.selectOption("after_event"))
        expect(
          yield* refusedField(page, "journey-new-after", {
            value: "-5",
            submit: "Create journey",
            alone: true
          })
        ).toBe("A whole number of minutes, from 0 to 43 200 (30 days).")
        yield* go(() => trigger.selectOption("registration"))
        expect(yield* go(() => page.locator("#journey-new-window-type").count())).toBe(0)

        // An unknown variable: the API's 400 names the field and the variable.
        yield* go(() => page.locator("#journey-new-name").fill("Welcome"))
        const subjectError = yield* refusedField(page, "journey-new-subject", {
          value: "Hi {{nmae}}",
          submit: "Create journey",
          alone: true
        })
        expect(subjectError).toMatch(/^unknown variable \{\{nmae\}\}; known: \{\{name\}\}/)
        yield* go(() => page.locator("#journey-new-subject").fill("Welcome to {{event}}, {{name}}"))
        yield* go(() => page.getByRole("button", { name: "Create journey" }).click())
        yield* go(() => page.getByRole("heading", { name: "Welcome", level: 1 }).waitFor())
        const journeyId = page.url().split("/").pop()!
        yield* go(() => page.getByRole("heading", { name: "Deliveries" }).waitFor())
        expect(yield* unlabelled(page)).toEqual([])

        // Preview: the sample person, then an attendee of the event by name.
        yield* go(() => page.getByRole("button", { name: "Preview", exact: true }).click())
        yield* go(() =>
          page.getByTestId("preview-subject").getByText("Welcome to Quay Nights, Ada Lovelace").waitFor()
        )
        const cleo = address("cleo")
        yield* register(tenant, yield* bandIdOf(tenant, eventId, "J-1"), "Cleo", cleo)
        yield* go(() => page.reload())
        yield* go(() => page.getByLabel("Preview for").selectOption({ label: "Cleo (J-1)" }))
        yield* go(() => page.getByRole("button", { name: "Preview", exact: true }).click())
        yield* go(() =>
          page.getByTestId("preview-subject").getByText("Welcome to Quay Nights, Cleo").waitFor()
        )
        expect(yield* go(() => page.getByTestId("preview-text").textContent())).toContain("Hello Cleo,")

        // A test goes to the signed-in user's own address.
        yield* go(() => page.getByRole("button", { name: "Send a test to me" }).click())
        yield* go(() =>
          page
            .getByRole("status")
            .filter({ hasText: `Test sent to ${editor.email}` })
            .waitFor()
        )
        const test = yield* mailTo(editor.email, /^\[test\] Welcome to Quay Nights/)
        expect(test.subject).toBe("[test] Welcome to Quay Nights, Ada Lovelace")

        // Cleo registered after the journey was made: her message is sent, and the log says so.
        expect((yield* mailTo(cleo)).subject).toBe("Welcome to Quay Nights, Cleo")
        yield* go(() => page.getByRole("button", { name: "Refresh" }).click())
        yield* go(() =>
          page.getByTestId("journey-message-status").getByText("sent", { exact: true }).waitFor()
        )

        // The SMTP server is down when Dee registers: retried, then dead.
        yield* Effect.promise(() => smtp.stop())
        const dee = address("dee")
        const deeBand = yield* bandIdOf(tenant, eventId, "J-2")
        yield* register(tenant, deeBand, "Dee", dee)
        // biome-ignore lint/suspicious/noExplicitAny: a JSON reply read field by field
        const dead: any = yield* waitFor(
          "Dee's message dead",
          Effect.map(
            Effect.flatMap(
              call("GET", api(tenant, `/journeys/${journeyId}/messages?status=dead`), {
                key: tenant.keys.EDITOR
              }),
              (r) => ok(r, 200, "messages")
            ),
            // biome-ignore lint/suspicious/noExplicitAny: a JSON reply read field by field
            (reply) => (reply.body.items as Array<any>).find((m) => m.bandId === deeBand)
          )
        )
        yield* Effect.promise(() => smtp.restart())

        // The journey's log, filtered to the dead: Dee's message alone, with its error.
        yield* go(() => page.getByLabel("Status of Deliveries").selectOption("dead"))
        yield* go(() => statusOf(page, dead.id).getByText("dead").waitFor())
        const deadRow = page.locator(`tr[data-message="${dead.id}"]`)
        expect(yield* go(() => deadRow.textContent())).toContain("SMTP send failed")
        // The band is named by its attendee and its UID (once the attendees, read again for the log's bands, are
        // in: awaited, the page makes more requests since issue 34 and the read raced it).
        yield* go(() => deadRow.getByText("Dee (J-2)").waitFor())
        expect(yield* go(() => page.locator("tr[data-message]").count())).toBe(1)
        yield* shot(page, "console-journey-deliveries")

        // The Deliveries screen (every journey of the event, dead first): Redrive sends it.
        yield* go(() => page.getByRole("navigation").getByRole("link", { name: "Deliveries" }).click())
        yield* go(() =>
          page
            .getByRole("form", { name: "Choose the event" })
            .getByRole("combobox")
            .first()
            .selectOption({ label: "Quay Nights" })
        )
        const log = page.locator(`section[data-journey="${journeyId}"]`)
        yield* go(() => log.getByRole("heading", { name: "Welcome" }).waitFor())
        yield* go(() => statusOf(log, dead.id).getByText("dead").waitFor())
        expect(yield* go(() => log.locator("tr[data-message]").count())).toBe(1)
        yield* go(() => log.getByRole("button", { name: "Redrive" }).click())
        yield* go(() => statusOf(log, dead.id).getByText("sent", { exact: true }).waitFor())
        expect((yield* mailTo(dee)).subject).toBe("Welcome to Quay Nights, Dee")
        expect(yield* go(() => log.getByRole("button", { name: "Redrive" }).count())).toBe(0)
        yield* go(() => page.goto(`${origin}/console/journeys/${journeyId}`))

        // On a phone the journey's page with its log: nothing scrolls sideways.
        const phone = (yield* signedIn(tenant.orgId, "EDITOR", PHONE)).page
        yield* go(() => phone.goto(`${origin}/console/journeys/${journeyId}`))
        yield* go(() => statusOf(phone, dead.id).waitFor())
        expect(yield* sidewaysOverflow(phone)).toBe(0)

        // Edit: a delay that is no number is refused by its field; a good one is saved.
        expect(
          yield* refusedField(page, "journey-edit-delay", {
            value: "soon",
            submit: "Save journey",
            alone: true
          })
        ).toBe("A whole number of minutes, from 0 to 43 200 (30 days).")
        yield* go(() => page.locator("#journey-edit-delay").fill("15"))
        yield* go(() => page.getByRole("button", { name: "Save journey" }).click())
        yield* go(() => page.getByText("then 15 min").waitFor())
        yield* shot(page, "console-journey")

        // A VIEWER reads the journey: no form, no preview, no log.
        const viewer = yield* signedIn(tenant.orgId, "VIEWER")
        yield* go(() => viewer.page.goto(`${origin}/console/journeys?eventId=${eventId}`))
        yield* go(() => viewer.page.getByRole("link", { name: "Welcome" }).click())
        yield* go(() => viewer.page.getByText("Your role in this organisation reads only.").waitFor())
        for (const name of ["Save journey", "Send a test to me", "Delete journey", "Redrive"])
          expect(yield* go(() => viewer.page.getByRole("button", { name }).count())).toBe(0)
        expect(yield* go(() => viewer.page.getByRole("heading", { name: "Deliveries" }).count())).toBe(0)
        expect(yield* go(() => viewer.page.getByRole("link", { name: "Deliveries" }).count())).toBe(0)

        // Delete, on confirmation: back to the event's journeys, and gone from the API.
        yield* go(() => page.getByRole("button", { name: "Delete journey" }).click())
        yield* answerConfirm(page, "Delete the journey Welcome?", "confirm")
        yield* go(() => page.getByText("No journeys for this event yet.").waitFor())
        const gone = yield* call("GET", api(tenant, `/journeys/${journeyId}`), { key: tenant.keys.EDITOR })
        expect(gone.status).toBe(404)
        expect(yield* rawSchemaErrors(page)).toBeNull()
      })
  )
})
