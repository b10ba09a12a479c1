import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { addVirtualAuthenticator, keepOnLoopback, launchChromium } from "@tapline/testing/browser"
import { freePort } from "@tapline/testing/ports"
import { Effect } from "effect"
import { generate } from "otplib"
import type { Browser, Page } from "playwright-core"
import { hashSecret } from "../src/Crypto/Tokens.js"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { startOidcProvider } from "./support/OidcTestProvider.js"

/*
 * The sign-in page in headless Chromium against the running server: an invited user signs up through the
 * OIDC provider's own login form and accepts the invitation, adds a passkey (DevTools virtual authenticator),
 * signs out and back in with it usernameless, then with TOTP on is asked for the code. Negative cases: an
 * expired challenge, a signature counter that went backwards, the eleventh passkey.
 */

const CHALLENGE_SECONDS = 4
const port = await freePort()
const origin = `http://localhost:${port}`
const suffix = `${process.pid}${Date.now().toString(36)}`
const email = `bea-${suffix}@example.com`

const oidc = await startOidcProvider({
  issuer: (p) => `http://127.0.0.1:${p}`,
  clientId: "tapline-browser",
  clientSecret: "browser-secret",
  redirectUris: [`${origin}/api/v1/auth/oauth/company-sso/callback`],
  accounts: { bea: { email, email_verified: true, name: "Bea" } }
})

const browser: Browser = await launchChromium()
const page: Page = await browser.newPage()
/*
 * Nothing leaves the machine: the OIDC provider's dev login page asks Google Fonts for a style sheet, and on
 * this closed network that request sometimes hangs, holding the page's load event (and Playwright's click)
 * for five seconds, longer than the 4 s state cookie lives. Refused at once, it costs nothing.
 */
await keepOnLoopback(page)
const { cdp, authenticatorId } = await addVirtualAuthenticator(page)

afterAll(async () => {
  await browser.close()
  await oidc.close()
})

/** The browser globals the page functions use; this project compiles without the DOM library. */
interface Web {
  readonly document: { readonly cookie: string }
  readonly navigator: {
    readonly credentials: {
      get(options: unknown): Promise<unknown>
      create(options: unknown): Promise<unknown>
    }
  }
  readonly PublicKeyCredential: { parseRequestOptionsFromJSON(options: unknown): unknown }
}

const browse = <A>(f: () => Promise<A>) => Effect.promise(f)
const visible = (selector: string) => browse(() => page.waitForSelector(selector, { state: "visible" }))
const text = (selector: string) =>
  browse(() =>
    page
      .locator(selector)
      .textContent()
      .then((content) => content ?? "")
  )

/** Runs in the page: a call to the API with the session cookie and the CSRF token, as the script makes. */
const pageFetch = (method: string, path: string, body?: unknown) =>
  browse(() =>
    page.evaluate(
      async ([method, path, body]) => {
        const web = globalThis as unknown as Web
        const csrf =
          web.document.cookie
            .split("; ")
            .find((c) => c.startsWith("tapline_csrf="))
            ?.slice(13) ?? ""
        const response = await fetch(path as string, {
          method: method as string,
          headers: { "x-csrf-token": csrf, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        })
        return { status: response.status, body: await response.text() }
      },
      [method, path, body] as const
    )
  )

layer(
  adminHarness({
    PORT: String(port),
    PUBLIC_URL: origin,
    AUTH_CHALLENGE_TTL: `${CHALLENGE_SECONDS} seconds`
  }),
  { excludeTestServices: true, timeout: 90_000 }
)("sign-in page in Chromium", (it) => {
  it.effect("every flow in the browser: OIDC sign-up by invitation, passkeys, TOTP, sign-out", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      yield* call("POST", "/api/v1/admin/oauth-providers", {
        key: admin,
        body: {
          id: "company-sso",
          kind: "oidc",
          displayName: "Company SSO",
          clientId: "tapline-browser",
          clientSecret: "browser-secret",
          issuer: oidc.issuer
        }
      }).pipe(Effect.flatMap((r) => ok(r, 201, "add provider")))
      const tenant = yield* createTenant(admin)
      const invited = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/invitations`, {
        key: tenant.keys.OWNER,
        body: { email, role: "VIEWER" }
      })
      expect(invited.status).toBe(201)
      const sql = yield* SqlClient.SqlClient
      const token = `tli_browser${suffix}`
      yield* sql`update invitations set token_hash = ${hashSecret(token)} where id = ${invited.body.id}`

      // The invitation link: the page previews it and offers the providers.
      yield* browse(() => page.goto(`${origin}/sign-in?invitation=${token}`))
      yield* visible("#signed-out")
      expect(yield* text("#invitation-organization")).toBe(`Org ${tenant.slug}`)
      // The provider's own login and consent forms, filled in the browser.
      yield* browse(() => page.click("text=Continue with Company SSO"))
      yield* browse(() => page.waitForSelector("input[name=login]"))
      yield* browse(() => page.fill("input[name=login]", "bea"))
      yield* browse(() => page.fill("input[name=password]", "any"))
      yield* browse(() => page.click("button[type=submit]"))
      yield* browse(() => page.waitForSelector("button[type=submit]:has-text('Continue')"))
      yield* browse(() => page.click("button[type=submit]:has-text('Continue')"))
      yield* browse(() => page.waitForURL(`${origin}/sign-in?invitation=${token}`))
      yield* visible("#signed-in")
      expect(yield* text("#user-email")).toBe(email)
      yield* visible("#accept-invitation")
      yield* browse(() => page.click("#accept-invitation"))
      yield* browse(() => page.waitForSelector("#message:has-text('You joined the organisation')"))
      const [member] = yield* sql<{ role: string }>`
        select m.role from memberships m join users u on u.id = m.user_id where u.email = ${email}`
      expect(member?.role).toBe("VIEWER")

      // On into the console with the session the sign-in made: the organisation joined, read-only.
      yield* browse(() => page.click("text=Open the console"))
      yield* browse(() => page.waitForURL(`${origin}/console/`))
      yield* browse(() => page.getByText(`${email} (VIEWER)`).waitFor())
      expect(yield* browse(() => page.locator("header select option:checked").textContent())).toBe(
        `Org ${tenant.slug}`
      )
      expect(yield* browse(() => page.getByRole("form", { name: "New event" }).count())).toBe(0)
      yield* browse(() => page.goto(`${origin}/sign-in`))
      yield* visible("#signed-in")

      // A passkey, registered while signed in.
      yield* browse(() => page.click("#add-passkey"))
      yield* browse(() => page.waitForSelector("#passkeys li:has-text('Passkey 1')"))
      const credentials = yield* browse(() => cdp.send("WebAuthn.getCredentials", { authenticatorId }))
      expect(credentials.credentials).toHaveLength(1)
      expect(credentials.credentials[0]!.isResidentCredential).toBe(true)

      // Signed out, then back in with the passkey alone: no user name asked.
      yield* browse(() => page.click("#sign-out"))
      yield* visible("#signed-out")
      yield* browse(() => page.click("#passkey-sign-in"))
      yield* visible("#signed-in")
      expect(yield* text("#user-email")).toBe(email)
      const [session] = yield* sql<{ method: string }>`
        select s.method from sessions s join users u on u.id = s.user_id
        where u.email = ${email} and s.revoked_at is null order by s.created_at desc limit 1`
      expect(session?.method).toBe("passkey")

      // With TOTP on, the passkey sign-in asks for the code.
      const enrolment = yield* pageFetch("POST", "/api/v1/me/totp")
      expect(enrolment.status).toBe(201)
      const secret = JSON.parse(enrolment.body).secret as string
      const confirmCode = yield* browse(() => generate({ secret }))
      expect((yield* pageFetch("POST", "/api/v1/me/totp/confirm", { code: confirmCode })).status).toBe(200)
      yield* browse(() => page.click("#sign-out"))
      yield* visible("#signed-out")
      yield* browse(() => page.click("#passkey-sign-in"))
      yield* visible("#second-factor")
      const nextCode = yield* browse(() => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }))
      yield* browse(() => page.fill("#totp-code", nextCode))
      yield* browse(() => page.click("#second-factor button[type=submit]"))
      yield* visible("#signed-in")
      const [twoFactor] = yield* sql<{ method: string }>`
        select s.method from sessions s join users u on u.id = s.user_id
        where u.email = ${email} and s.revoked_at is null order by s.created_at desc limit 1`
      expect(twoFactor?.method).toBe("passkey+totp")
      // The passkey-and-code session opens the console too (the next tests go on with this session).
      yield* browse(() => page.click("text=Open the console"))
      yield* browse(() => page.getByText(`${email} (VIEWER)`).waitFor())
      yield* browse(() => page.goto(`${origin}/sign-in`))
      yield* visible("#signed-in")
    })
  )

  it.effect("passkeys are listed, renamed and deleted; at most 10 per user", () =>
    Effect.gen(function* () {
      const listed = yield* pageFetch("GET", "/api/v1/me/passkeys")
      const [first] = JSON.parse(listed.body) as Array<{ id: string; name: string }>
      const renamed = yield* pageFetch("PATCH", `/api/v1/me/passkeys/${first!.id}`, { name: "Laptop" })
      expect(renamed.status).toBe(200)
      expect(JSON.parse(renamed.body).name).toBe("Laptop")

      // Up to the limit with stored rows (one virtual authenticator holds one credential per user).
      const sql = yield* SqlClient.SqlClient
      yield* sql`
        insert into passkeys (user_id, credential_id, public_key, device_type, backed_up, name)
        select u.id, 'filler-' || n || ${`-${suffix}`}::text, '\\x00'::bytea, 'singleDevice', false, 'Filler ' || n
        from users u, generate_series(2, 10) n where u.email = ${email}`
      const full = yield* pageFetch("POST", "/api/v1/me/passkeys/registration-options")
      expect(full.status).toBe(409)
      expect(JSON.parse(full.body).message).toContain("at most 10 passkeys")

      const all = JSON.parse((yield* pageFetch("GET", "/api/v1/me/passkeys")).body) as Array<{
        id: string
        name: string
      }>
      expect(all).toHaveLength(10)
      const fillers = all.filter((passkey) => passkey.name.startsWith("Filler"))
      for (const filler of fillers) {
        expect((yield* pageFetch("DELETE", `/api/v1/me/passkeys/${filler.id}`)).status).toBe(204)
      }
      expect((yield* pageFetch("DELETE", `/api/v1/me/passkeys/${fillers[0]!.id}`)).status).toBe(404)
      expect(JSON.parse((yield* pageFetch("GET", "/api/v1/me/passkeys")).body)).toEqual([
        expect.objectContaining({ name: "Laptop" })
      ])
    })
  )

  it.effect("an expired challenge is refused, and so is a signature counter that went backwards", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`delete from totp_factors where user_id = (select id from users where email = ${email})`
      yield* browse(() => page.click("#sign-out"))
      yield* visible("#signed-out")

      // Options fetched, then the user waits past AUTH_CHALLENGE_TTL before answering.
      const late = yield* browse(() =>
        page.evaluate(
          async (waitMs) => {
            const web = globalThis as unknown as Web
            const options = await (await fetch("/api/v1/auth/passkey/options", { method: "POST" })).json()
            await new Promise((resolve) => setTimeout(resolve, waitMs))
            const credential = (await web.navigator.credentials.get({
              publicKey: web.PublicKeyCredential.parseRequestOptionsFromJSON(options)
            })) as { toJSON(): unknown }
            const response = await fetch("/api/v1/auth/passkey", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ credential: credential.toJSON() })
            })
            return response.status
          },
          (CHALLENGE_SECONDS + 1) * 1000
        )
      )
      expect(late).toBe(401)

      // The stored counter is ahead of the authenticator's: a cloned authenticator would look like this.
      yield* sql`
        update passkeys set counter = 1000000
        where user_id = (select id from users where email = ${email}) and name = 'Laptop'`
      yield* browse(() => page.click("#passkey-sign-in"))
      yield* browse(() => page.waitForSelector("#message:has-text('Passkey sign-in failed')"))
      expect(yield* browse(() => page.isVisible("#signed-in"))).toBe(false)

      const reasons = yield* sql<{ reason: string }>`
        select new_values->>'reason' as reason from audit_log
        where action = 'signin.failed' and new_values->>'method' = 'passkey' order by occurred_at`
      expect(reasons.map((r) => r.reason)).toEqual(["challenge", "counter"])
      // The refused attempt moved nothing.
      const [laptop] = yield* sql<{ counter: string }>`select counter from passkeys where name = 'Laptop'`
      expect(laptop?.counter).toBe("1000000")
    })
  )
})
