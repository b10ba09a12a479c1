import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { bootstrapKey, call, createTenant, liveEvent, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { api, consoleBrowser, go, PHONE } from "./support/ConsoleBrowser.js"

/*
 * Issue 33: a newcomer sends a window's taps to the registration page from the console's window editor, on a
 * phone, without the API: "Taps go to" chooses it, the URL field becomes where the page links on, and the next
 * tap of a band goes to the page with its token.
 */

const { port, origin, signedIn } = await consoleBrowser()

layer(adminHarness({ PORT: String(port), HOST: "127.0.0.1" }), {
  excludeTestServices: true,
  timeout: 120_000
})("console: a window that sends taps to the registration page", (it) => {
  it.effect("an editor chooses the registration page in the window editor; the next tap goes there", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey())
      const { eventId } = yield* liveEvent(tenant, ["R-1"], "Open Air")
      const { page } = yield* signedIn(tenant.orgId, "EDITOR", PHONE)
      yield* go(() => page.goto(`${origin}/console/events/${eventId}`))
      yield* go(() => page.getByLabel("Taps go to").selectOption("REGISTRATION_PAGE"))
      yield* go(() =>
        page.getByLabel("After registering, continue to").fill("https://open-air.example/after")
      )
      yield* go(() => page.getByRole("button", { name: "Save windows" }).click())
      yield* go(() => page.getByText("Windows saved.").waitFor())

      const windows = yield* ok(
        yield* call("GET", api(tenant, `/events/${eventId}/windows`), { key: tenant.keys.VIEWER }),
        200
      )
      expect(windows.body.items).toMatchObject([
        { destination: "REGISTRATION_PAGE", url: "https://open-air.example/after" }
      ])
      const tap = yield* go(() => fetch(`${origin}/e?bandId=R-1&eventId=${eventId}`, { redirect: "manual" }))
      expect(tap.status).toBe(302)
      expect(tap.headers.get("location")).toMatch(new RegExp(`^${origin}/r/${eventId}\\.R-1\\.`))
    })
  )
})
