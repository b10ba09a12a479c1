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

/*
 * Issue 26, item 1: the IPv6 spellings of private and metadata addresses, what refusals say, and the one way
 * connections are made (resolve once, check every address, connect to a checked one, SNI = the host name).
 */
describe("IPv6 spellings of IPv4 addresses", () => {
  // [address, public?]: an IPv6 address carrying an IPv4 one is judged as that IPv4 address.
  const table: ReadonlyArray<readonly [string, boolean, string]> = [
    ["::ffff:127.0.0.1", false, "IPv4-mapped, dotted"],
    ["::ffff:7f00:1", false, "IPv4-mapped, hex"],
    ["::ffff:a9fe:a9fe", false, "IPv4-mapped metadata"],
    ["::ffff:0:127.0.0.1", false, "IPv4-translated (SIIT)"],
    ["::ffff:0:a9fe:a9fe", false, "IPv4-translated metadata"],
    ["::127.0.0.1", false, "IPv4-compatible"],
    ["::a00:1", false, "IPv4-compatible 10.0.0.1"],
    ["64:ff9b::7f00:1", false, "NAT64 loopback"],
    ["64:ff9b::169.254.169.254", false, "NAT64 metadata"],
    ["64:ff9b::c0a8:101", false, "NAT64 192.168.1.1"],
    ["64:ff9b:1::808:808", false, "local-use NAT64 (whole range)"],
    ["2002:7f00:1::1", false, "6to4 loopback"],
    ["2002:a9fe:a9fe::", false, "6to4 metadata"],
    ["2002:0a00:0001:1::1", false, "6to4 10.0.0.1"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", false, "Teredo (whole range)"],
    ["fe80::1%eth0", false, "link-local with a zone"],
    ["fd00:ec2::254", false, "AWS metadata"],
    ["::", false, "unspecified"],
    ["::1", false, "loopback"],
    ["::ffff:8.8.8.8", true, "IPv4-mapped public"],
    ["64:ff9b::808:808", true, "NAT64 public"],
    ["2002:808:808::1", true, "6to4 public"],
    ["2606:4700::1111", true, "native public"],
    ["2001:4860:4860::8888", true, "native public in 2001::/16"]
  ]
  for (const [address, expected, what] of table) {
    it(`${address} (${what}) is ${expected ? "public" : "refused"}`, async () => {
      expect(OutboundPolicy.isPublicAddress(address)).toBe(expected)
      const outcome = await OutboundPolicy.make([])
        .vet(`http://[${address.replace("%", "%25")}]/`)
        .then(
          () => "allowed",
          () => "refused"
        )
      // The URL parser rewrites some spellings (dotted to hex; a zone is not a valid URL host).
      if (!address.includes("%")) expect(outcome).toBe(expected ? "allowed" : "refused")
    })
  }

  it("an allowed IPv4 network is allowed in its IPv6 spellings, and nothing else", async () => {
    const policy = OutboundPolicy.make(["127.0.0.1"])
    const verdict = (url: string) =>
      policy.vet(url).then(
        () => "allowed",
        () => "refused"
      )
    expect(await verdict("http://[::ffff:127.0.0.1]/")).toBe("allowed")
    expect(await verdict("http://[64:ff9b::127.0.0.1]/")).toBe("allowed")
    expect(await verdict("http://[::ffff:127.0.0.2]/")).toBe("refused")
  })
})

/** A policy that resolves names from `table` (as a DNS server would) instead of the system's resolver. */
const policyWith = (allow: ReadonlyArray<string>, table: Record<string, ReadonlyArray<string>>) =>
  OutboundPolicy.make(allow, {
    lookup: async (host) =>
      (table[host] ?? []).map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
  })

describe("what a refusal says", () => {
  it("names the category, never what the name resolves to", async () => {
    const policy = policyWith([], { "inside.example": ["10.20.30.40", "fd12::7"] })
    const error = await policy.vet("http://inside.example/").catch((e: Error) => e)
    expect(error).toBeInstanceOf(OutboundPolicy.OutboundRefused)
    expect(String(error)).not.toMatch(/10\.20\.30\.40|fd12::7/)
    expect(OutboundPolicy.categoryOf(error)).toBe("refused by the outbound policy")
    const missing = await policy.vet("http://nowhere.example/").catch((e: Error) => e)
    expect(OutboundPolicy.categoryOf(missing)).toBe("unreachable")
    const slow = OutboundPolicy.make([], { lookup: () => new Promise(() => {}), lookupTimeoutMs: 50 })
    const timedOut = await slow.vet("http://slow.example/").catch((e: Error) => e)
    expect(OutboundPolicy.categoryOf(timedOut)).toBe("did not answer in time")
  })

  it("the system resolver's answer for localhost is not named either", async () => {
    const error = await OutboundPolicy.make([])
      .vet("http://localhost:9/")
      .catch((e: Error) => e)
    expect(String(error)).not.toMatch(/127\.0\.0\.1|::1/)
  })
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
