import * as Http from "node:http"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as OutboundPolicy from "../src/Outbound/OutboundPolicy.js"
import { bootstrapKey, call, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 12, item 9: server-side requests to URLs an admin gave (OIDC discovery, JWKS, token and userinfo
 * endpoints) never reach loopback, private, link-local or metadata addresses unless OUTBOUND_ALLOW names
 * them, and nothing but http(s) from a discovery document reaches a Location header.
 */

const refused = (policy: OutboundPolicy.OutboundPolicy, url: string) =>
  Effect.promise(() =>
    policy.vet(url).then(
      () => "allowed",
      (error: Error) => `refused: ${error.message}`
    )
  )

describe("outbound policy", () => {
  it.effect("refuses loopback, private, link-local and metadata addresses, and non-http schemes", () =>
    Effect.gen(function* () {
      const policy = OutboundPolicy.make([])
      for (const url of [
        "http://127.0.0.1/",
        "http://127.1.2.3:8080/x",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://localhost:9/"
      ]) {
        expect(yield* refused(policy, url), url).toMatch(/^refused: .*(loopback|private)/)
      }
      for (const url of ["file:///etc/passwd", "gopher://x.example/", "javascript:alert(1)"]) {
        expect(yield* refused(policy, url), url).toMatch(/^refused: only http\(s\)/)
      }
      expect(yield* refused(policy, "http://8.8.8.8/")).toBe("allowed")
      expect(OutboundPolicy.isPublicAddress("2606:4700::1111")).toBe(true)
    })
  )

  it.effect("OUTBOUND_ALLOW names hosts, addresses and networks", () =>
    Effect.gen(function* () {
      const policy = OutboundPolicy.make(["localhost", "10.1.0.0/16", "::1"])
      expect(yield* refused(policy, "http://localhost:9/")).toBe("allowed")
      expect(yield* refused(policy, "http://10.1.200.3/")).toBe("allowed")
      expect(yield* refused(policy, "http://[::1]:8080/")).toBe("allowed")
      expect(yield* refused(policy, "http://10.2.0.1/")).toMatch(/^refused/)
      expect(yield* refused(policy, "http://127.0.0.1/")).toMatch(/^refused/)
    })
  )
})

/** An issuer on loopback that counts what reaches it; serves `document` as its discovery. */
const issuerServer = (document: (origin: string) => Record<string, unknown>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      let hits = 0
      const server = Http.createServer((_request, response) => {
        hits++
        const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
        response.writeHead(200, { "content-type": "application/json" })
        response.end(JSON.stringify(document(origin)))
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
      return { origin, hits: () => hits, server }
    }),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

const oidcProvider = (admin: string, id: string, issuer: string) =>
  call("POST", "/api/v1/admin/oauth-providers", {
    key: admin,
    body: { id, kind: "oidc", displayName: id, clientId: "tapline", clientSecret: "s3cret", issuer }
  }).pipe(Effect.flatMap((reply) => ok(reply, 201, "add provider")))

const start = (id: string) => call("GET", `/api/v1/auth/oauth/${id}/start`, { headers: {} })

layer(adminHarness({ OUTBOUND_ALLOW: "" }), { excludeTestServices: true, timeout: 120_000 })(
  "server-side requests to admin-given URLs",
  (it) => {
    it.scoped(
      "an issuer on a private address is never fetched; the sign-in says the provider is unavailable",
      () =>
        Effect.gen(function* () {
          const issuer = yield* issuerServer((origin) => ({
            issuer: origin,
            authorization_endpoint: `${origin}/auth`,
            token_endpoint: `${origin}/token`,
            jwks_uri: `${origin}/jwks`
          }))
          const admin = yield* bootstrapKey("ssrf@example.com")
          yield* oidcProvider(admin, "internal", issuer.origin)
          yield* oidcProvider(admin, "metadata", "http://169.254.169.254/latest")
          for (const id of ["internal", "metadata"]) {
            const reply = yield* start(id)
            expect(reply.status, id).toBe(200)
          }
          expect(issuer.hits()).toBe(0)
        })
    )
  }
)

layer(adminHarness(), { excludeTestServices: true, timeout: 120_000 })("discovery documents", (it) => {
  it.scoped("a discovery document's javascript: endpoint never reaches a Location header", () =>
    Effect.gen(function* () {
      const issuer = yield* issuerServer((origin) => ({
        issuer: origin,
        authorization_endpoint: "javascript:alert(document.cookie)",
        token_endpoint: `${origin}/token`,
        jwks_uri: `${origin}/jwks`
      }))
      const admin = yield* bootstrapKey("discovery-scheme@example.com")
      yield* oidcProvider(admin, "scheming", issuer.origin)
      const reply = yield* start("scheming")
      expect(issuer.hits()).toBe(1)
      expect(reply.text).not.toContain("javascript:")
    })
  )
})
