import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { freePort } from "@tapline/testing/ports"
import { OAuth2Client } from "arctic"
import { Effect, Option } from "effect"
import { generateSync } from "otplib"
import { OAuthProviders } from "../src/Auth/OAuthProviders.js"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { startAppleStandIn } from "./support/AppleStandIn.js"
import { authorizeAt, CookieJarClient } from "./support/CookieJarClient.js"
import { startGitHubStandIn } from "./support/GitHubStandIn.js"
import { routeHosts } from "./support/HostRouting.js"
import { keyRotation } from "./support/KeyRotation.js"
import { startOidcProvider } from "./support/OidcTestProvider.js"

/*
 * OAuth / OIDC sign-in end to end, over HTTP like a browser, against a real OpenID Provider
 * (node-oidc-provider on loopback): once as a generic OIDC provider found by discovery, once standing in for
 * Google, whose fixed hosts (hard-coded in arctic) are routed to it. PKCE is required by the provider.
 */

const port = await freePort()
const origin = `http://localhost:${port}`
const host = `localhost:${port}`
const callbackOf = (providerId: string) => `${origin}/api/v1/auth/oauth/${providerId}/callback`

const suffix = `${process.pid}-${Date.now().toString(36)}`
const emails = {
  invited: `ines-${suffix}@example.com`,
  stranger: `sam-${suffix}@example.com`,
  existing: `erik-${suffix}@example.com`,
  unverified: `uma-${suffix}@example.com`,
  linker: `lena-${suffix}@example.com`,
  totp: `tom-${suffix}@example.com`,
  entra: `erin-${suffix}@example.com`,
  entraUnverified: `ursula-${suffix}@example.com`,
  github: `gus-${suffix}@example.com`,
  apple: `abe-${suffix}@privaterelay.appleid.com`
}
const accounts = {
  ines: { email: emails.invited, email_verified: true, name: "Ines" },
  sam: { email: emails.stranger, email_verified: true },
  erik: { email: emails.existing, email_verified: true, name: "Erik" },
  uma: { email: emails.unverified, email_verified: false },
  "lena-alt": { email: `lena.private-${suffix}@example.net`, email_verified: false },
  tom: { email: emails.totp, email_verified: true },
  // Entra: only xms_edov makes the email count as verified; email_verified is not an Entra claim.
  erin: { email: emails.entra, email_verified: true, xms_edov: true },
  ursula: { email: emails.entraUnverified, email_verified: true }
}

const oidc = await startOidcProvider({
  issuer: (p) => `http://127.0.0.1:${p}`,
  clientId: "tapline",
  clientSecret: "oidc-client-secret",
  redirectUris: [callbackOf("acme-sso")],
  accounts
})
const google = await startOidcProvider({
  issuer: () => "https://accounts.google.com",
  clientId: "tapline-google.apps.googleusercontent.com",
  clientSecret: "google-client-secret",
  redirectUris: [callbackOf("google")],
  accounts,
  conformIdTokenClaims: false,
  routes: {
    authorization: "/o/oauth2/v2/auth",
    token: "/token",
    jwks: "/oauth2/v3/certs",
    userinfo: "/userinfo"
  }
})
const ENTRA_TENANT = "0b0e6a9c-5d3e-4d1e-9f00-7a11ce5e1234"
const entra = await startOidcProvider({
  issuer: () => `https://login.microsoftonline.com/${ENTRA_TENANT}/v2.0`,
  clientId: "tapline-entra",
  clientSecret: "entra-client-secret",
  redirectUris: [callbackOf("entra")],
  accounts,
  conformIdTokenClaims: false,
  routes: {
    authorization: `/${ENTRA_TENANT}/oauth2/v2.0/authorize`,
    token: `/${ENTRA_TENANT}/oauth2/v2.0/token`,
    jwks: `/${ENTRA_TENANT}/discovery/v2.0/keys`
  }
})
const unrouteEntra = await routeHosts(["login.microsoftonline.com"], entra.origin)
const github = await startGitHubStandIn({ id: "tapline-gh", secret: "github-client-secret" })
const unrouteGitHub = await routeHosts(["github.com", "api.github.com"], github.origin)
const apple = await startAppleStandIn({ id: "com.tapline.signin", teamId: "TEAM123456", keyId: "KEY1234567" })
const unrouteApple = await routeHosts(["appleid.apple.com"], apple.origin)
const unroute = await routeHosts(
  ["accounts.google.com", "oauth2.googleapis.com", "www.googleapis.com"],
  google.origin
)
afterAll(async () => {
  unroute()
  unrouteEntra()
  unrouteGitHub()
  unrouteApple()
  await Promise.all([oidc.close(), google.close(), entra.close(), github.close(), apple.close()])
})

/** From the start endpoint to the provider's redirect back (not yet delivered to Tapline). */
const authorize = (jar: CookieJarClient, providerId: string, login: string, query = "") =>
  Effect.promise(async () => {
    const start = await jar.fetch(`${origin}/api/v1/auth/oauth/${providerId}/start${query}`)
    expect(start.status).toBe(302)
    return authorizeAt(jar, start.headers.get("location")!, login, callbackOf(providerId))
  })

/** Delivers the provider's redirect to Tapline; returns where Tapline sends the browser. */
const deliver = (jar: CookieJarClient, callback: URL) =>
  Effect.promise(async () => {
    const response = await jar.fetch(callback)
    expect(response.status).toBe(302)
    return new URL(response.headers.get("location")!, origin)
  })

const me = (jar: CookieJarClient) =>
  Effect.promise(async () => {
    const response = await jar.fetch(`${origin}/api/v1/me`)
    // biome-ignore lint/suspicious/noExplicitAny: a JSON reply that tests read field by field
    const body: any = response.status === 200 ? await response.json() : null
    return { status: response.status, body }
  })

const addProviders = (adminKey: string) =>
  Effect.gen(function* () {
    yield* call("POST", "/api/v1/admin/oauth-providers", {
      key: adminKey,
      body: {
        id: "acme-sso",
        kind: "oidc",
        displayName: "Acme SSO",
        clientId: "tapline",
        clientSecret: "oidc-client-secret",
        issuer: oidc.issuer
      }
    }).pipe(Effect.flatMap((r) => ok(r, 201, "add oidc provider")))
    yield* call("POST", "/api/v1/admin/oauth-providers", {
      key: adminKey,
      body: {
        id: "google",
        kind: "google",
        displayName: "Google",
        clientId: "tapline-google.apps.googleusercontent.com",
        clientSecret: "google-client-secret"
      }
    }).pipe(Effect.flatMap((r) => ok(r, 201, "add google provider")))
    yield* call("POST", "/api/v1/admin/oauth-providers", {
      key: adminKey,
      body: {
        id: "entra",
        kind: "entra",
        displayName: "Microsoft",
        clientId: "tapline-entra",
        clientSecret: "entra-client-secret",
        issuer: ENTRA_TENANT
      }
    }).pipe(Effect.flatMap((r) => ok(r, 201, "add entra provider")))
    yield* call("POST", "/api/v1/admin/oauth-providers", {
      key: adminKey,
      body: {
        id: "github",
        kind: "github",
        displayName: "GitHub",
        clientId: "tapline-gh",
        clientSecret: "github-client-secret"
      }
    }).pipe(Effect.flatMap((r) => ok(r, 201, "add github provider")))
    yield* call("POST", "/api/v1/admin/oauth-providers", {
      key: adminKey,
      body: {
        id: "apple",
        kind: "apple",
        displayName: "Apple",
        clientId: "com.tapline.signin",
        clientSecret: apple.privateKeyPem,
        settings: { teamId: "TEAM123456", keyId: "KEY1234567" }
      }
    }).pipe(Effect.flatMap((r) => ok(r, 201, "add apple provider")))
  })

const providersReady = Effect.gen(function* () {
  const admin = yield* bootstrapKey()
  const listed = yield* call("GET", "/api/v1/admin/oauth-providers", { key: admin })
  if (listed.body.length === 0) yield* addProviders(admin)
  return admin
})

const audited = (action: string, email: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ action: string; newValues: Record<string, unknown> }>`
      select action, new_values from audit_log
      where action = ${action} and new_values->>'email' = ${email}`.pipe(Effect.orDie)
  )

// Every sign-in here comes from one address; the rate limit itself is tested in Totp.test.ts.
const harness = adminHarness({
  PORT: String(port),
  PUBLIC_URL: origin,
  SESSION_COOKIE_SECURE: "false",
  AUTH_RATE_LIMIT_PER_MINUTE: "100"
})

layer(harness, {
  excludeTestServices: true,
  timeout: 60_000
})("OAuth sign-in", (it) => {
  it.effect("platform ADMINs configure providers; the secret is stored encrypted and never shown", () =>
    Effect.gen(function* () {
      const admin = yield* providersReady
      const listed = yield* call("GET", "/api/v1/admin/oauth-providers", { key: admin })
      expect(listed.status).toBe(200)
      expect(listed.text).not.toContain("oidc-client-secret")
      expect(listed.body.find((p: { id: string }) => p.id === "acme-sso")).toMatchObject({
        kind: "oidc",
        hasClientSecret: true,
        issuer: oidc.issuer
      })
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{
        clientSecret: string
      }>`select client_secret from oauth_providers where id = 'google'`
      expect(row!.clientSecret).toMatch(/^v1\./)
      expect(row!.clientSecret).not.toContain("google-client-secret")

      // What each kind needs is checked on write.
      const incomplete = yield* call("POST", "/api/v1/admin/oauth-providers", {
        key: admin,
        body: { id: "no-issuer", kind: "oidc", displayName: "X", clientId: "x" }
      })
      expect(incomplete.status).toBe(400)
      const apple = yield* call("POST", "/api/v1/admin/oauth-providers", {
        key: admin,
        body: { id: "apple-2", kind: "apple", displayName: "Apple", clientId: "x", clientSecret: "k" }
      })
      expect(apple.status).toBe(400)
      const tenant = yield* createTenant(admin)
      const refused = yield* call("POST", "/api/v1/admin/oauth-providers", {
        key: tenant.keys.OWNER,
        body: { id: "mine", kind: "github", displayName: "GH", clientId: "x", clientSecret: "y" }
      })
      expect(refused.status).toBe(403)

      const publicList = yield* call("GET", "/api/v1/auth/providers")
      expect(publicList.body).toEqual(
        expect.arrayContaining([{ id: "acme-sso", kind: "oidc", displayName: "Acme SSO" }])
      )
      expect(publicList.text).not.toContain("tapline-google.apps")
      expect((yield* call("GET", "/api/v1/auth/oauth/nope/start")).status).toBe(404)

      // The sign-in page runs only its own script and cannot be framed.
      const page = yield* call("GET", "/sign-in")
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toContain("text/html")
      expect(page.headers.get("content-security-policy")).toContain("script-src 'self'")
      expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'")
      expect(page.text).toContain('<script src="/sign-in.js"')
      expect((yield* call("GET", "/sign-in.js")).headers.get("content-type")).toContain("text/javascript")
      // The script both pages share comes first; the page's own script relies on its names.
      expect(page.text.indexOf('<script src="/page.js"')).toBeLessThan(
        page.text.indexOf('<script src="/sign-in.js"')
      )
      const shared = yield* call("GET", "/page.js")
      expect(shared.headers.get("content-type")).toContain("text/javascript")
      expect(shared.text).toContain("const api = ")
    })
  )

  it.effect("an invited email signs up through OIDC, gets a session cookie and joins the organisation", () =>
    Effect.gen(function* () {
      const admin = yield* providersReady
      const tenant = yield* createTenant(admin)
      const invitation = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/invitations`, {
        key: tenant.keys.OWNER,
        body: { email: emails.invited, role: "EDITOR" }
      })
      expect(invitation.status).toBe(201)
      const sql = yield* SqlClient.SqlClient
      // The token is only in the email; the test puts a known one in its place.
      const token = `tli_test${suffix.replace(/[^A-Za-z0-9]/g, "")}`
      const { hashSecret } = yield* Effect.promise(() => import("../src/Crypto/Tokens.js"))
      yield* sql`update invitations set token_hash = ${hashSecret(token)} where id = ${invitation.body.id}`

      // An error from an earlier attempt: a sign-in that works clears it from the ADMIN's list.
      yield* sql`update oauth_providers set last_error = 'unreachable', last_error_at = now() where id = 'acme-sso'`
      const jar = new CookieJarClient()
      const callback = yield* authorize(jar, "acme-sso", "ines", `?invitation=${token}`)
      expect(callback.searchParams.get("code")).toBeTruthy()
      const landing = yield* deliver(jar, callback)
      expect(landing.pathname + landing.search).toBe(`/sign-in?invitation=${token}`)
      expect(jar.cookie(host, "tapline_oauth")).toBeUndefined()

      const signedIn = yield* me(jar)
      expect(signedIn.status).toBe(200)
      expect(signedIn.body).toMatchObject({ email: emails.invited, name: "Ines", memberships: [] })

      const accepted = yield* Effect.promise(() =>
        jar.fetch(`${origin}/api/v1/invitations/${token}/accept`, {
          method: "POST",
          headers: { "x-csrf-token": jar.cookie(host, "tapline_csrf")! }
        })
      )
      expect(accepted.status).toBe(200)
      expect((yield* me(jar)).body.memberships).toEqual([{ organizationId: tenant.orgId, role: "EDITOR" }])

      expect(yield* audited("user.create", emails.invited)).toHaveLength(1)
      const links = yield* audited("identity.link", emails.invited)
      expect(links.map((l) => l.newValues)).toEqual([
        { provider: "acme-sso", email: emails.invited, via: "invitation" }
      ])
      const [session] = yield* sql<{ method: string }>`
        select s.method from sessions s join users u on u.id = s.user_id where u.email = ${emails.invited}`
      expect(session!.method).toBe("oauth:acme-sso")
      const providers = yield* call("GET", "/api/v1/admin/oauth-providers", { key: admin })
      expect(providers.body.find((p: { id: string }) => p.id === "acme-sso").lastError).toBeNull()
    })
  )

  it.effect("without an invitation an unknown email gets no account; an unverified email links nothing", () =>
    Effect.gen(function* () {
      yield* providersReady
      const jar = new CookieJarClient()
      const landing = yield* Effect.flatMap(authorize(jar, "acme-sso", "sam"), (cb) => deliver(jar, cb))
      expect(landing.search).toBe("?error=no_account")
      expect((yield* me(jar)).status).toBe(401)
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`select 1 from users where email = ${emails.stranger}`).toHaveLength(0)
      expect(yield* audited("signin.failed", emails.stranger)).toHaveLength(1)

      // An existing user whose email the provider does not vouch for is not linked.
      yield* sql`insert into users (email) values (${emails.unverified})`
      const other = new CookieJarClient()
      const refused = yield* Effect.flatMap(authorize(other, "acme-sso", "uma"), (cb) => deliver(other, cb))
      expect(refused.search).toBe("?error=email_unverified")
      expect(yield* sql`select 1 from user_identities where email = ${emails.unverified}`).toHaveLength(0)
    })
  )

  it.effect(
    "Google (arctic's fixed provider, routed to the local provider) links an existing user by verified email",
    () =>
      Effect.gen(function* () {
        yield* providersReady
        const sql = yield* SqlClient.SqlClient
        yield* sql`insert into users (email, name) values (${emails.existing}, 'Erik')`
        const jar = new CookieJarClient()
        const start = yield* Effect.promise(() => jar.fetch(`${origin}/api/v1/auth/oauth/google/start`))
        const authorization = new URL(start.headers.get("location")!)
        expect(authorization.origin + authorization.pathname).toBe(
          "https://accounts.google.com/o/oauth2/v2/auth"
        )
        expect(authorization.searchParams.get("code_challenge_method")).toBe("S256")
        expect(authorization.searchParams.get("nonce")).toBeTruthy()
        const stateCookie = start.headers.getSetCookie().find((c) => c.startsWith("tapline_oauth="))!
        expect(stateCookie).toMatch(/HttpOnly/)
        expect(stateCookie).toMatch(/Path=\/api\/v1\/auth\/oauth/)
        expect(stateCookie).toMatch(/SameSite=Lax/)
        // The cookie holds state, verifier and nonce encrypted: none of them readable.
        expect(stateCookie).not.toContain(authorization.searchParams.get("state")!)

        const callback = yield* Effect.promise(() =>
          authorizeAt(jar, authorization.href, "erik", callbackOf("google"))
        )
        const landing = yield* deliver(jar, callback)
        expect(landing.pathname + landing.search).toBe("/sign-in")
        expect((yield* me(jar)).body).toMatchObject({ email: emails.existing })
        const links = yield* audited("identity.link", emails.existing)
        expect(links.map((l) => l.newValues)).toEqual([
          { provider: "google", email: emails.existing, via: "verified_email" }
        ])

        // The second time the identity is known: no new link.
        const again = new CookieJarClient()
        const second = yield* Effect.flatMap(authorize(again, "google", "erik"), (cb) => deliver(again, cb))
        expect(second.pathname + second.search).toBe("/sign-in")
        expect(yield* audited("identity.link", emails.existing)).toHaveLength(1)
      })
  )

  it.effect("Entra ID (routed likewise) trusts an email only with xms_edov", () =>
    Effect.gen(function* () {
      yield* providersReady
      const sql = yield* SqlClient.SqlClient
      yield* sql`insert into users (email) values (${emails.entra}), (${emails.entraUnverified})`
      const jar = new CookieJarClient()
      const start = yield* Effect.promise(() => jar.fetch(`${origin}/api/v1/auth/oauth/entra/start`))
      const authorization = new URL(start.headers.get("location")!)
      expect(authorization.origin + authorization.pathname).toBe(
        `https://login.microsoftonline.com/${ENTRA_TENANT}/oauth2/v2.0/authorize`
      )
      expect(authorization.searchParams.get("code_challenge_method")).toBe("S256")
      const callback = yield* Effect.promise(() =>
        authorizeAt(jar, authorization.href, "erin", callbackOf("entra"))
      )
      expect((yield* deliver(jar, callback)).search).toBe("")
      expect((yield* me(jar)).body).toMatchObject({ email: emails.entra })

      const other = new CookieJarClient()
      const refused = yield* Effect.flatMap(authorize(other, "entra", "ursula"), (cb) => deliver(other, cb))
      expect(refused.search).toBe("?error=email_unverified")
    })
  )

  it.effect(
    "GitHub (no id_token): the primary verified email from the API; an unverified one links nothing",
    () =>
      Effect.gen(function* () {
        yield* providersReady
        const sql = yield* SqlClient.SqlClient
        yield* sql`insert into users (email) values (${emails.github})`
        const signIn = (account: Parameters<typeof github.signInAs>[0]) =>
          Effect.gen(function* () {
            github.signInAs(account)
            const jar = new CookieJarClient()
            const start = yield* Effect.promise(() => jar.fetch(`${origin}/api/v1/auth/oauth/github/start`))
            const authorization = new URL(start.headers.get("location")!)
            expect(authorization.origin + authorization.pathname).toBe(
              "https://github.com/login/oauth/authorize"
            )
            expect(authorization.searchParams.get("scope")).toBe("read:user user:email")
            const back = yield* Effect.promise(() => jar.fetch(authorization))
            const landing = yield* deliver(jar, new URL(back.headers.get("location")!))
            return { jar, landing }
          })
        const unverified = yield* signIn({
          id: 4001,
          login: "gus-unverified",
          name: null,
          emails: [{ email: emails.github, primary: true, verified: false }]
        })
        expect(unverified.landing.search).toBe("?error=email_unverified")

        github.requests.length = 0
        const verified = yield* signIn({
          id: 4002,
          login: "gus",
          name: "Gus",
          emails: [
            { email: `gus-old-${suffix}@example.com`, primary: false, verified: true },
            { email: emails.github, primary: true, verified: true }
          ]
        })
        expect(verified.landing.search).toBe("")
        expect((yield* me(verified.jar)).body).toMatchObject({ email: emails.github })
        // What Tapline sent, as GitHub documents it.
        const token = github.requests.find((r) => r.path === "/login/oauth/access_token")!
        expect(token.method).toBe("POST")
        expect(token.headers.accept).toBe("application/json")
        expect(new URLSearchParams(token.body).get("grant_type")).toBe("authorization_code")
        expect(new URLSearchParams(token.body).get("redirect_uri")).toBe(callbackOf("github"))
        const api = github.requests.filter((r) => r.path.startsWith("/user"))
        expect(api.map((r) => r.path)).toEqual(["/user", "/user/emails"])
        expect(api.every((r) => r.headers.accept === "application/vnd.github+json")).toBe(true)
        const [identity] = yield* sql<{ subject: string }>`
        select subject from user_identities where provider_id = 'github' and email = ${emails.github}`
        expect(identity?.subject).toBe("4002")
      })
  )

  it.effect(
    "Sign in with Apple: the answer comes back as a form post, the client secret is a JWT signed with the team key",
    () =>
      Effect.gen(function* () {
        yield* providersReady
        const sql = yield* SqlClient.SqlClient
        yield* sql`insert into users (email) values (${emails.apple})`
        const signIn = (account: Parameters<typeof apple.signInAs>[0], overrides = {}) =>
          Effect.gen(function* () {
            apple.signInAs(account, overrides)
            const jar = new CookieJarClient()
            const start = yield* Effect.promise(() => jar.fetch(`${origin}/api/v1/auth/oauth/apple/start`))
            const authorization = new URL(start.headers.get("location")!)
            expect(authorization.origin + authorization.pathname).toBe(
              "https://appleid.apple.com/auth/authorize"
            )
            expect(authorization.searchParams.get("response_mode")).toBe("form_post")
            expect(authorization.searchParams.get("nonce")).toMatch(/.{16,}/)
            // Apple's page posts a form back to Tapline, as the browser would submit it.
            const page = yield* Effect.promise(() => jar.fetch(authorization).then((r) => r.text()))
            const action = /action="([^"]+)"/.exec(page)![1]!.replaceAll("&amp;", "&")
            const fields = Object.fromEntries(
              [...page.matchAll(/name="(\w+)" value="([^"]*)"/g)].map(([, name, value]) => [
                name!,
                value!.replaceAll("&quot;", '"').replaceAll("&amp;", "&")
              ])
            )
            expect(action).toBe(callbackOf("apple"))
            const response = yield* Effect.promise(() => jar.fetch(action, { form: fields }))
            expect(response.status).toBe(302)
            return { jar, landing: new URL(response.headers.get("location")!, origin) }
          })

        const unverified = yield* signIn({
          sub: "001.apple.unverified",
          email: emails.apple,
          emailVerified: "false"
        })
        expect(unverified.landing.search).toBe("?error=email_unverified")
        const wrongNonce = yield* signIn(
          { sub: "001.apple.abe", email: emails.apple, emailVerified: "true" },
          { nonce: "another-sign-in" }
        )
        expect(wrongNonce.landing.search).toBe("?error=id_token")
        const otherAudience = yield* signIn(
          { sub: "001.apple.abe", email: emails.apple, emailVerified: "true" },
          { aud: "com.someone.else" }
        )
        expect(otherAudience.landing.search).toBe("?error=id_token")

        const verified = yield* signIn({ sub: "001.apple.abe", email: emails.apple, emailVerified: "true" })
        expect(verified.landing.search).toBe("")
        expect((yield* me(verified.jar)).body).toMatchObject({ email: emails.apple })
        // Every token request carried a client secret Apple would accept.
        expect(apple.refusals).toEqual([])
        const [identity] = yield* sql<{ subject: string }>`
        select subject from user_identities where provider_id = 'apple' and email = ${emails.apple}`
        expect(identity?.subject).toBe("001.apple.abe")
      })
  )

  it.effect("a replayed callback (same state, same cookie) is refused", () =>
    Effect.gen(function* () {
      yield* providersReady
      const jar = new CookieJarClient()
      const callback = yield* authorize(jar, "google", "erik")
      const sealed = jar.cookie(host, "tapline_oauth")!
      expect((yield* deliver(jar, callback)).search).toBe("")
      // An attacker who captured the URL and the cookie tries again.
      const replay = new CookieJarClient()
      replay.setCookie(host, "tapline_oauth", sealed, "/api/v1/auth/oauth")
      const landing = yield* deliver(replay, callback)
      expect(landing.search).toBe("?error=state")
      expect((yield* me(replay)).status).toBe(401)
    })
  )

  it.effect("a callback without the state cookie, or with another sign-in's, is refused", () =>
    Effect.gen(function* () {
      yield* providersReady
      const jar = new CookieJarClient()
      const callback = yield* authorize(jar, "acme-sso", "erik")
      const noCookie = new CookieJarClient()
      expect((yield* deliver(noCookie, callback)).search).toBe("?error=state")

      // Another browser's own flow: its cookie does not match this state.
      const other = new CookieJarClient()
      yield* Effect.promise(() => other.fetch(`${origin}/api/v1/auth/oauth/acme-sso/start`))
      expect((yield* deliver(other, callback)).search).toBe("?error=state")
      // A tampered cookie does not decrypt.
      const tampered = new CookieJarClient()
      const sealed = jar.cookie(host, "tapline_oauth")!
      tampered.setCookie(host, "tapline_oauth", `${sealed.slice(0, -4)}AAAA`, "/api/v1/auth/oauth")
      expect((yield* deliver(tampered, callback)).search).toBe("?error=state")
      // The rightful browser still completes.
      expect((yield* deliver(jar, callback)).search).toBe("")
    })
  )

  it.effect("a stolen code is useless without its PKCE verifier: wrong verifier and missing verifier", () =>
    Effect.gen(function* () {
      yield* providersReady
      // Code injection: the victim's code delivered into the attacker's own flow, whose state and cookie
      // are valid but whose verifier is not the one the code was issued for.
      const victim = new CookieJarClient()
      const victimCallback = yield* authorize(victim, "acme-sso", "erik")
      const attacker = new CookieJarClient()
      const attackerCallback = yield* authorize(attacker, "acme-sso", "sam")
      const injected = new URL(attackerCallback)
      injected.searchParams.set("code", victimCallback.searchParams.get("code")!)
      const landing = yield* deliver(attacker, injected)
      expect(landing.search).toBe("?error=exchange")
      expect((yield* me(attacker)).status).toBe(401)

      // No verifier at all: the provider refuses the code.
      const thief = new CookieJarClient()
      const stolen = yield* authorize(thief, "acme-sso", "erik")
      const client = new OAuth2Client("tapline", "oidc-client-secret", callbackOf("acme-sso"))
      const exchanged = yield* Effect.promise(() =>
        client.validateAuthorizationCode(`${oidc.issuer}/token`, stolen.searchParams.get("code")!, null).then(
          () => "accepted",
          (error: { code?: string; message: string }) => error.code ?? error.message
        )
      )
      expect(exchanged).toBe("invalid_grant")
    })
  )

  it.effect("a signed-in user links another account whatever its email; it then signs them in", () =>
    Effect.gen(function* () {
      yield* providersReady
      const sql = yield* SqlClient.SqlClient
      yield* sql`insert into users (email, name) values (${emails.linker}, 'Lena')`
      // Lena signs in once by her verified work email (Google), then links an unverified private account.
      const work = new CookieJarClient()
      yield* sql`insert into users (email) values (${`lena-work-${suffix}@example.com`})`
      const loginAs = yield* Effect.promise(async () => {
        // Sign in by a session made for her directly: the link flow needs only a signed-in browser.
        const { Sessions } = await import("../src/Auth/Sessions.js")
        return Sessions
      })
      const tokens = yield* Effect.flatMap(loginAs, (sessions) =>
        Effect.flatMap(sql<{ id: string }>`select id from users where email = ${emails.linker}`, ([user]) =>
          sessions.create({ userId: user!.id as never, method: "test", ip: null, userAgent: null })
        )
      ).pipe(Effect.provide(loginAs.Default), Effect.orDie)
      work.setCookie(host, "tapline_session", tokens.accessToken)

      const started = yield* Effect.promise(() =>
        work.fetch(`${origin}/api/v1/me/identities/acme-sso`, {
          method: "POST",
          headers: { "x-csrf-token": tokens.csrfToken }
        })
      )
      expect(started.status).toBe(200)
      const { url } = (yield* Effect.promise(() => started.json())) as { url: string }
      const callback = yield* Effect.promise(() => authorizeAt(work, url, "lena-alt", callbackOf("acme-sso")))
      const landing = yield* deliver(work, callback)
      expect(landing.search).toBe("?linked=acme-sso")
      const identities = yield* Effect.promise(() =>
        work.fetch(`${origin}/api/v1/me/identities`).then((r) => r.json())
      )
      expect(identities).toEqual([expect.objectContaining({ providerId: "acme-sso" })])

      // A fresh browser signing in with that account is Lena.
      const fresh = new CookieJarClient()
      yield* Effect.flatMap(authorize(fresh, "acme-sso", "lena-alt"), (cb) => deliver(fresh, cb))
      expect((yield* me(fresh)).body).toMatchObject({ email: emails.linker })

      // Someone else cannot link the same account to themselves.
      const [ines] = yield* sql<{ id: string }>`select id from users where email = ${emails.invited}`
      const inesTokens = yield* Effect.flatMap(loginAs, (sessions) =>
        sessions.create({ userId: ines!.id as never, method: "test", ip: null, userAgent: null })
      ).pipe(Effect.provide(loginAs.Default), Effect.orDie)
      const thief = new CookieJarClient()
      thief.setCookie(host, "tapline_session", inesTokens.accessToken)
      const link = yield* Effect.promise(() =>
        thief
          .fetch(`${origin}/api/v1/me/identities/acme-sso`, {
            method: "POST",
            headers: { "x-csrf-token": inesTokens.csrfToken }
          })
          .then((r) => r.json() as Promise<{ url: string }>)
      )
      const taken = yield* Effect.promise(() =>
        authorizeAt(thief, link.url, "lena-alt", callbackOf("acme-sso"))
      )
      expect((yield* deliver(thief, taken)).search).toBe("?error=identity_taken")

      // Linking needs the CSRF token like any cookie-authenticated change.
      const noCsrf = yield* Effect.promise(() =>
        work.fetch(`${origin}/api/v1/me/identities/google`, { method: "POST" })
      )
      expect(noCsrf.status).toBe(401)
      // Her only identity cannot be unlinked (she has no passkey): 409; then with two it can.
      const unlink = (provider: string) =>
        Effect.promise(() =>
          work.fetch(`${origin}/api/v1/me/identities/${provider}`, {
            method: "DELETE",
            headers: { "x-csrf-token": tokens.csrfToken }
          })
        )
      expect((yield* unlink("acme-sso")).status).toBe(409)
      expect((yield* unlink("google")).status).toBe(404)
    })
  )

  it.effect("with TOTP enabled the callback asks for the second factor with a ticket in the fragment", () =>
    Effect.gen(function* () {
      yield* providersReady
      const sql = yield* SqlClient.SqlClient
      const [user] = yield* sql<{ id: string }>`
        insert into users (email) values (${emails.totp}) returning id`
      const { Sessions } = yield* Effect.promise(() => import("../src/Auth/Sessions.js"))
      const tokens = yield* Effect.flatMap(Sessions, (s) =>
        s.create({ userId: user!.id as never, method: "test", ip: null, userAgent: null })
      ).pipe(Effect.provide(Sessions.Default), Effect.orDie)
      const enrolment = yield* call("POST", "/api/v1/me/totp", { key: tokens.accessToken })
      const secret = enrolment.body.secret as string
      const confirmed = yield* call("POST", "/api/v1/me/totp/confirm", {
        key: tokens.accessToken,
        body: { code: generateSync({ secret }) }
      })
      expect(confirmed.status).toBe(200)

      const jar = new CookieJarClient()
      const landing = yield* Effect.flatMap(authorize(jar, "acme-sso", "tom"), (cb) => deliver(jar, cb))
      expect(landing.pathname).toBe("/sign-in")
      const ticket = /^#ticket=(tlt_[A-Za-z0-9_-]+)$/.exec(landing.hash)?.[1]
      expect(ticket).toBeDefined()
      expect((yield* me(jar)).status).toBe(401)
      // The next step's code: the confirming one was used.
      const code = generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 })
      const second = yield* Effect.promise(() =>
        jar.fetch(`${origin}/api/v1/auth/second-factor`, { json: { ticket, code } })
      )
      expect(second.status).toBe(200)
      expect((yield* me(jar)).body).toMatchObject({ email: emails.totp, totp: "enabled" })
    })
  )

  // Last: afterwards the running server's key no longer opens the rotated secrets.
  it.effect("secrets:rotate re-encrypts client secrets under the new key; then only that key is needed", () =>
    Effect.gen(function* () {
      yield* providersReady
      const { current, next, overKeys: withBox } = yield* keyRotation(OAuthProviders.Default)
      const rotated = yield* Effect.flatMap(OAuthProviders, (p) => p.reencryptSecrets).pipe(
        withBox([next, ...current])
      )
      expect(rotated).toBe(5)
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`select 1 from oauth_providers where client_secret not like 'v2.%'`).toHaveLength(0)
      const built = yield* Effect.flatMap(OAuthProviders, (p) => p.provider("google")).pipe(withBox([next]))
      expect(Option.isSome(built)).toBe(true)
      // Again: nothing left to rotate.
      const again = yield* Effect.flatMap(OAuthProviders, (p) => p.reencryptSecrets).pipe(withBox([next]))
      expect(again).toBe(0)
    })
  )
})
