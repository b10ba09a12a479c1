import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { addVirtualAuthenticator, keepOnLoopback, launchChromium } from "@tapline/testing/browser"
import { freePort } from "@tapline/testing/ports"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Effect } from "effect"
import type { Browser, Page } from "playwright-core"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Email sign-in on the sign-in page in headless Chromium: the form is found by its labels (as a screen reader
 * finds it), the code is typed from the mail the SMTP peer received, the signed-in session adds a passkey
 * (DevTools virtual authenticator); after signing out, the mailed link alone signs the browser in again.
 */

const port = await freePort()
const origin = `http://localhost:${port}`
const email = `mia-${process.pid}${Date.now().toString(36)}@example.com`
const smtp = await startSmtpPeer()

const browser: Browser = await launchChromium()
const page: Page = await browser.newPage()
await keepOnLoopback(page)
const { cdp, authenticatorId } = await addVirtualAuthenticator(page)

afterAll(async () => {
  await browser.close()
  await smtp.stop()
})

const browse = <A>(f: () => Promise<A>) => Effect.promise(f)
const visible = (selector: string) => browse(() => page.waitForSelector(selector, { state: "visible" }))

/** The `n`th mail to the address (1-based), once it has arrived. */
const nthMail = (n: number) =>
  browse(async () => {
    const deadline = Date.now() + 20_000
    for (;;) {
      const mails = smtp.received.filter((m) => JSON.stringify(m.to ?? "").includes(email))
      if (mails.length >= n) return mails[n - 1]!.text ?? ""
      if (Date.now() > deadline) throw new Error(`mail ${n} to ${email} did not arrive`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

layer(
  adminHarness({
    PORT: String(port),
    PUBLIC_URL: origin,
    EMAIL_PROVIDER: "smtp",
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    EMAIL_RETRY_DELAY_SECONDS: "1"
  }),
  { excludeTestServices: true, timeout: 90_000 }
)("email sign-in in Chromium", (it) => {
  it.effect(
    "the code from the mail signs in, a passkey is added; the link signs in again after sign-out",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`insert into users (email, name) values (${email}, 'Mia')`

        yield* browse(() => page.goto(`${origin}/sign-in`))
        yield* visible("#signed-out")
        yield* browse(() => page.getByLabel("Or get a sign-in link and code by email").fill(email))
        yield* browse(() => page.getByRole("button", { name: "Email me a link and a code" }).click())
        yield* browse(() => page.waitForSelector("#message.info:has-text('on their way')"))
        const first = yield* nthMail(1)
        const code = /: (\d{6})\s*$/m.exec(first)![1]!
        yield* browse(() => page.getByLabel("Six-digit code from the email").fill(code))
        yield* browse(() => page.getByRole("button", { name: "Sign in with the code" }).click())
        yield* visible("#signed-in")
        expect(yield* browse(() => page.locator("#user-email").textContent())).toBe(email)

        // The session the mail opened adds a passkey.
        yield* browse(() => page.click("#add-passkey"))
        yield* browse(() => page.waitForSelector("#passkeys li"))
        const credentials = yield* browse(() => cdp.send("WebAuthn.getCredentials", { authenticatorId }))
        expect(credentials.credentials).toHaveLength(1)
        const [passkeys] = yield* sql<{ n: number }>`
        select count(*)::int as n from passkeys p join users u on u.id = p.user_id where u.email = ${email}`
        expect(passkeys?.n).toBe(1)

        // Signed out, a second mail; its link alone signs the browser in, and leaves the address bar clean.
        yield* browse(() => page.click("#sign-out"))
        yield* visible("#signed-out")
        yield* browse(() => page.getByLabel("Or get a sign-in link and code by email").fill(email))
        yield* browse(() => page.getByRole("button", { name: "Email me a link and a code" }).click())
        const second = yield* nthMail(2)
        const link = /(http:\/\/localhost:\d+\/sign-in#email_token=tle_[\w-]+)/.exec(second)![1]!
        yield* browse(() => page.goto("about:blank"))
        yield* browse(() => page.goto(link))
        yield* visible("#signed-in")
        expect(page.url()).toBe(`${origin}/sign-in`)
        const [session] = yield* sql<{ method: string }>`
        select s.method from sessions s join users u on u.id = s.user_id
        where u.email = ${email} and s.revoked_at is null order by s.created_at desc limit 1`
        expect(session?.method).toBe("email:link")

        // The same link again: refused, and said so on the page.
        yield* browse(() => page.goto("about:blank"))
        yield* browse(() => page.context().clearCookies())
        yield* browse(() => page.goto(link))
        yield* browse(() => page.waitForSelector("#message:has-text('did not work')"))
        yield* visible("#signed-out")
      }),
    90_000
  )
})
