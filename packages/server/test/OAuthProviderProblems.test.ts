import * as Http from "node:http"
import { afterAll, expect, layer } from "@effect/vitest"
import { freePort } from "@tapline/testing/ports"
import { Effect, Layer, Logger } from "effect"
import { bootstrapKey, call } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 29 item 3: a sign-in provider the server cannot use says why. Three real failures of OIDC discovery at
 * the start of a sign-in: an issuer the outbound policy refuses (a private address), one where nothing listens,
 * and one whose discovery document is wrong (a real HTTP server answering 404, then a document naming another
 * issuer). The browser is sent to the sign-in page with a category, never an address; the log (WARN) names the
 * URL and the reason; the ADMIN's provider list shows each provider's last error.
 */

const logs: Array<{ level: string; text: string }> = []
const collect = Logger.make(({ annotations, logLevel, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  const annotated = [...annotations].map(([key, value]) => `${key}=${String(value)}`)
  logs.push({ level: logLevel.label, text: [...parts.map(String), ...annotated].join(" ") })
})

/** A discovery endpoint under the test's control: 404 first, then a document naming another issuer. */
let discoveryAnswer: "missing" | "wrong-issuer" = "missing"
const discoveryServer = Http.createServer((_request, response) => {
  if (discoveryAnswer === "missing") return void response.writeHead(404).end("no such document")
  response.writeHead(200, { "content-type": "application/json" })
  response.end(JSON.stringify({ issuer: "https://someone-else.example", authorization_endpoint: "x" }))
})
await new Promise<void>((resolve) => discoveryServer.listen(0, "127.0.0.1", resolve))
afterAll(() => discoveryServer.close())
const discoveryIssuer = `http://127.0.0.1:${(discoveryServer.address() as { port: number }).port}`
const closedPort = await freePort()

const PRIVATE_ISSUER = "http://10.255.255.7:8443/realms/acme"

layer(
  adminHarness({ AUTH_RATE_LIMIT_PER_MINUTE: "100" }).pipe(
    Layer.provide(Logger.replace(Logger.defaultLogger, collect))
  ),
  { excludeTestServices: true, timeout: 60_000 }
)("a provider that fails says why", (it) => {
  it.effect(
    "the sign-in page gets a category, the log the URL and reason, the ADMIN's list the last error",
    () =>
      Effect.gen(function* () {
        const admin = yield* bootstrapKey()
        const add = (id: string, issuer: string) =>
          call("POST", "/api/v1/admin/oauth-providers", {
            key: admin,
            body: { id, kind: "oidc", displayName: id, clientId: "tapline", clientSecret: "s", issuer }
          })
        expect((yield* add("private", PRIVATE_ISSUER)).status).toBe(201)
        expect((yield* add("nobody-home", `http://127.0.0.1:${closedPort}`)).status).toBe(201)
        expect((yield* add("bad-document", discoveryIssuer)).status).toBe(201)

        const { url } = yield* AdminServer
        const start = (id: string) =>
          Effect.promise(async () => {
            const response = await fetch(`${url}/api/v1/auth/oauth/${id}/start`, { redirect: "manual" })
            expect(response.status).toBe(302)
            return new URL(response.headers.get("location")!, url)
          })
        const expectations = [
          ["private", "outbound_refused", PRIVATE_ISSUER, "refused by the outbound policy"],
          ["nobody-home", "unreachable", `http://127.0.0.1:${closedPort}`, "unreachable"],
          ["bad-document", "discovery", discoveryIssuer, "bad discovery document"]
        ] as const
        for (const [id, error, issuer, category] of expectations) {
          logs.length = 0
          const location = yield* start(id)
          expect(location.pathname).toBe("/sign-in")
          expect(location.searchParams.get("error"), id).toBe(error)
          expect(location.search).not.toMatch(/10\.255|127\.0\.0\.1/)
          const warning = logs.find((l) => l.level === "WARN" && l.text.includes(`provider=${id}`))
          expect(warning?.text, `the WARN line for ${id}`).toContain(
            `url=${issuer}/.well-known/openid-configuration`
          )
          expect(warning?.text).toContain(category)
        }
        // The document's own problem is in the log, so the ADMIN can fix the issuer.
        expect(logs.find((l) => l.text.includes("provider=bad-document"))?.text).toContain("404")
        discoveryAnswer = "wrong-issuer"
        logs.length = 0
        expect((yield* start("bad-document")).searchParams.get("error")).toBe("discovery")
        expect(logs.find((l) => l.text.includes("provider=bad-document"))?.text).toContain(
          "https://someone-else.example"
        )

        const listed = yield* call("GET", "/api/v1/admin/oauth-providers", { key: admin })
        const lastError = (id: string) =>
          listed.body.find((p: { id: string }) => p.id === id)?.lastError as {
            category: string
            at: string
          } | null
        expect(lastError("private")?.category).toBe("refused by the outbound policy")
        expect(lastError("nobody-home")?.category).toBe("unreachable")
        expect(lastError("bad-document")?.category).toBe("bad discovery document")
        expect(Date.parse(lastError("private")!.at)).toBeGreaterThan(Date.now() - 600_000)
        // The public list (the sign-in page's buttons) says nothing of it.
        const publicList = yield* call("GET", "/api/v1/auth/providers")
        expect(publicList.text).not.toContain("lastError")

        // The sign-in page has a message for each category, and none of them names an address.
        const script = (yield* call("GET", "/sign-in.js")).text
        for (const [, error] of expectations) expect(script).toMatch(new RegExp(`\\b${error}:`))
      })
  )
})
