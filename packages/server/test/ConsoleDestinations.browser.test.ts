import { expect, layer } from "@effect/vitest"
import { jetstreamManager, type StoredMsg } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { type NatsServer, startNatsServer } from "@tapline/testing/natsServer"
import { CloudEvent } from "cloudevents"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
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
  sidewaysOverflow
} from "./support/ConsoleBrowser.js"

/*
 * Issue 32, item 7: an organisation's destinations in the console. An OWNER adds a real NATS JetStream (a
 * private nats-server with a password) with refused values shown by their field, presses Test and sees the
 * broker's answer, and the stream holds the CloudEvent; disable, enable, redrive, the message log and removal
 * on confirmation; the password is never on the page. An EDITOR has neither the screen's link nor its controls.
 */

const USER = { user: "tapline", password: "nats-destination-pw-7" }
const STREAM = "CONSOLE_UI"

let nats: NatsServer

beforeAll(async () => {
  nats = await startNatsServer({
    config: `authorization { user: ${USER.user}, password: "${USER.password}" }\n`,
    user: USER
  })
}, 60_000)

afterAll(async () => {
  await nats?.dispose()
})

/** The stream's messages once it holds at least `count` (the test's own cap ends a wait that never comes). */
const stored = (count: number) =>
  go(async () => {
    const nc = await connect({ servers: nats.url, user: USER.user, pass: USER.password })
    try {
      const jsm = await jetstreamManager(nc)
      for (;;) {
        const info = await jsm.streams.info(STREAM).catch(() => undefined)
        if (info !== undefined && info.state.messages >= count) {
          const all: Array<StoredMsg> = []
          for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
            const msg = await jsm.streams.getMessage(STREAM, { seq })
            if (msg !== null) all.push(msg)
          }
          return all
        }
        await new Promise((r) => setTimeout(r, 100))
      }
    } finally {
      await nc.close()
    }
  })

const { port, origin, signedIn } = await consoleBrowser()

const destinations = (tenant: Tenant) =>
  Effect.map(
    call("GET", api(tenant, "/destinations"), { key: tenant.keys.OWNER }),
    (r) => r.body as ReadonlyArray<{ id: string; enabled: boolean; delivered: number }>
  )

layer(adminHarness({ PORT: String(port), HOST: "127.0.0.1" }), {
  excludeTestServices: true,
  timeout: 120_000
})("console destinations", (it) => {
  it.effect(
    "an OWNER adds a NATS destination, tests it (the stream holds the CloudEvent), and manages it",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey())
        const { page } = yield* signedIn(tenant.orgId, "OWNER")
        yield* go(() => page.goto(`${origin}/console/destinations`))
        const form = page.getByRole("form", { name: "New destination" })
        yield* go(() => form.waitFor())
        const add = () => go(() => form.getByRole("button", { name: "Add destination" }).click())

        // Refused values by their field, in words: not a broker URL (the schema, before anything is sent),
        // plaintext Kafka and a private host (the API's own reasons).
        expect(
          yield* refusedField(page, "destination-url", {
            value: "https://example.com/",
            submit: "Add destination"
          })
        ).toMatch(/amqp/)
        yield* go(() => page.locator("#destination-url").fill("kafka://kafka.example.com:9092/taps"))
        yield* add()
        yield* go(() =>
          page.locator('[data-field-error="destination-url"]', { hasText: "kafka+tls" }).waitFor()
        )
        yield* go(() => page.locator("#destination-url").fill("nats://10.1.2.3:4222/TAPS"))
        yield* add()
        expect(yield* refusedField(page, "destination-url", { alone: true })).toMatch(
          /private|not allowed|refused/i
        )
        yield* go(() => form.getByLabel("tap.created").uncheck())
        yield* go(() => page.locator("#destination-url").fill(`nats://127.0.0.1:${nats.port}/${STREAM}`))
        yield* add()
        expect(yield* refusedField(page, "destination-events", { alone: true })).toMatch(/at least one/)
        expect(yield* rawSchemaErrors(page)).toBeNull()
        expect(yield* destinations(tenant)).toHaveLength(0)

        // Added: shown without its password, which no page text holds.
        yield* go(() => form.getByLabel("tap.created").check())
        yield* go(() =>
          page
            .locator("#destination-url")
            .fill(`nats://${USER.user}:${USER.password}@127.0.0.1:${nats.port}/${STREAM}`)
        )
        yield* go(() => page.locator("#destination-description").fill("Ops stream"))
        yield* add()
        const row = page.getByRole("row", { name: new RegExp(`127\\.0\\.0\\.1:${nats.port}/${STREAM}`) })
        yield* go(() => row.waitFor())
        expect(yield* go(() => row.getByTestId("destination-state").textContent())).toBe("enabled")
        expect(yield* go(() => row.textContent())).toContain("NATS")

        // Test: the page says the broker accepted it, the stream holds it as a valid CloudEvent, and the list
        // counts it delivered.
        yield* go(() => row.getByRole("button", { name: "Test" }).click())
        const result = page.getByTestId("destination-test")
        yield* go(() => page.locator('[data-testid="destination-test"][data-status="succeeded"]').waitFor())
        expect(yield* go(() => result.textContent())).toMatch(/delivered/)
        const [message] = yield* stored(1)
        const event = new CloudEvent(message!.json<Record<string, unknown>>())
        expect(event.validate()).toBe(true)
        expect(event.type).toBe("tapline.webhook.test")
        expect(message!.subject).toMatch(/^tapline\.[^.]+\.webhook\.test$/)
        yield* go(() => row.getByTestId("destination-delivered").filter({ hasText: /^1/ }).waitFor())
        yield* shot(page, "console-destinations")

        // The message log: the test, delivered.
        yield* go(() => row.getByRole("button", { name: new RegExp(STREAM) }).click())
        const log = page.getByRole("table", { name: "Destination messages" })
        yield* go(() =>
          log.getByTestId("destination-delivery-status").filter({ hasText: "succeeded" }).waitFor()
        )

        // Disable, enable, redrive (nothing failed: none sent again).
        yield* go(() => row.getByRole("button", { name: "Disable" }).click())
        yield* go(() =>
          row
            .getByTestId("destination-state")
            .filter({ hasText: /^disabled/ })
            .waitFor()
        )
        expect((yield* destinations(tenant))[0]?.enabled).toBe(false)
        yield* go(() => row.getByRole("button", { name: "Enable" }).click())
        yield* go(() =>
          row
            .getByTestId("destination-state")
            .filter({ hasText: /^enabled$/ })
            .waitFor()
        )
        yield* go(() => row.getByRole("button", { name: "Redrive failed" }).click())
        yield* go(() => page.getByRole("status").filter({ hasText: "0 message(s) sent again" }).waitFor())

        expect(yield* go(() => page.locator("body").textContent())).not.toContain(USER.password)
        expect(yield* rawSchemaErrors(page)).toBeNull()

        // On a phone the list stacks into cards: nothing scrolls sideways, the actions stay on the screen.
        const phone = (yield* signedIn(tenant.orgId, "OWNER", PHONE)).page
        yield* go(() => phone.goto(`${origin}/console/destinations`))
        yield* go(() => phone.getByRole("button", { name: "Redrive failed" }).waitFor())
        yield* shot(phone, "console-phone-destinations")
        expect(yield* sidewaysOverflow(phone)).toBe(0)

        // Remove asks first; "Keep it" keeps it.
        yield* go(() => row.getByRole("button", { name: "Remove" }).click())
        yield* answerConfirm(page, /Remove the destination/, "keep")
        expect(yield* destinations(tenant)).toHaveLength(1)
        yield* go(() => row.getByRole("button", { name: "Remove" }).click())
        yield* answerConfirm(page, /Remove the destination/, "confirm")
        yield* go(() => page.getByText("No destinations yet.").waitFor())
        expect(yield* destinations(tenant)).toHaveLength(0)
      })
  )

  it.effect("an EDITOR has no Destinations link, and the screen shows no controls", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const { page } = yield* signedIn(tenant.orgId, "EDITOR")
      yield* go(() => page.goto(`${origin}/console/destinations`))
      yield* go(() => page.getByText("The organisation's owners manage its destinations.").waitFor())
      const nav = page.getByRole("navigation", { name: "Console" })
      yield* go(() => nav.getByRole("link", { name: "Events" }).waitFor())
      expect(yield* go(() => nav.getByRole("link", { name: "Destinations" }).count())).toBe(0)
      expect(yield* go(() => page.getByRole("form", { name: "New destination" }).count())).toBe(0)
      expect(yield* go(() => page.getByRole("button", { name: "Test" }).count())).toBe(0)
      // The API agrees: the page only hides what the server refuses.
      yield* ok(yield* call("GET", api(tenant, "/destinations"), { key: tenant.keys.EDITOR }), 403)
    })
  )
})
