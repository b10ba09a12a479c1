import * as Http from "node:http"
import { afterAll, expect, layer } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { startRebindingDns } from "./support/RebindingDns.js"

/*
 * Issue 26, item 1: the address checked is the address connected to. A webhook's name resolves, by turns, to
 * an address the policy allows (127.0.0.2 stands in for a public one: OUTBOUND_ALLOW names it) and to
 * 127.0.0.1, where a service only the server should reach listens on the same port. Each resolution is a
 * real DNS answer (TTL 0) from a name server on a loopback UDP port. Checking a name and then letting the
 * request resolve it again sends a delivery to the internal service, whose answer ends up in the owner's
 * delivery log; resolving once and connecting to the address checked never does.
 */

const NAME = "hook.rebind.test"
const SECRET_BODY = "internal-only: s3cr3t-admin-token"

const listen = (address: string, port: number, handler: Http.RequestListener) =>
  new Promise<Http.Server>((resolve, reject) => {
    const server = Http.createServer(handler)
    server.once("error", reject)
    server.listen(port, address, () => resolve(server))
  })

const internalHits: Array<string> = []
const internal = await listen("127.0.0.1", 0, (request, response) => {
  internalHits.push(`${request.method} ${request.url}`)
  request.resume()
  response.writeHead(403, { "content-type": "text/plain", connection: "close" }).end(SECRET_BODY)
})
const port = (internal.address() as { port: number }).port
let decoyHits = 0
// Closes every connection, so no delivery rides on a socket another one opened.
const decoy = await listen("127.0.0.2", port, (request, response) => {
  decoyHits++
  request.resume()
  response.writeHead(204, { connection: "close" }).end()
})
const dns = await startRebindingDns(NAME, ["127.0.0.2", "127.0.0.1"])
afterAll(async () => {
  await dns.close()
  for (const server of [internal, decoy]) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

layer(
  adminHarness(
    {
      OUTBOUND_ALLOW: "127.0.0.2",
      // A failed attempt is not retried during the test: each ping is one attempt, one resolution.
      WEBHOOK_RETRY_DELAYS: "1 hour",
      WEBHOOK_POLL_INTERVAL: "50 millis",
      WEBHOOK_TIMEOUT: "5 seconds"
    },
    { role: "all" }
  ),
  { excludeTestServices: true, timeout: 120_000 }
)("DNS rebinding", (it) => {
  it.effect(
    "a name that rebinds to loopback after the check never reaches it, and the log says why only",
    () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("rebind@example.com"))
        const base = `/api/v1/organizations/${tenant.orgId}/webhooks`
        const created = yield* ok(
          yield* call("POST", base, {
            key: tenant.keys.OWNER,
            body: { url: `http://${NAME}:${port}/hook`, eventTypes: ["export.ready"] }
          }),
          201
        )
        const hook = `${base}/${created.body.endpoint.id}`
        const PINGS = 4
        for (let ping = 1; ping <= PINGS; ping++) {
          yield* ok(yield* call("POST", `${hook}/test`, { key: tenant.keys.OWNER }), 202)
          // One at a time, so the name server's turns fall on the attempts in order.
          yield* call("GET", `${hook}/attempts`, { key: tenant.keys.OWNER }).pipe(
            Effect.filterOrFail((reply) => reply.body.items.length >= ping),
            Effect.retry(Schedule.spaced("50 millis")),
            Effect.timeout("30 seconds")
          )
        }
        const attempts = yield* call("GET", `${hook}/attempts`, { key: tenant.keys.OWNER })
        const deliveries = yield* call("GET", `${hook}/deliveries`, { key: tenant.keys.OWNER })

        expect(internalHits, "requests that reached the loopback service").toEqual([])
        const errors = (attempts.body.items as Array<{ error: string | null }>).map((item) => item.error)
        expect(errors).toHaveLength(PINGS)
        for (const error of errors) expect([null, "refused by the outbound policy"]).toContain(error)
        expect(errors).toContain("refused by the outbound policy")
        // The name was used when it resolved to an allowed address: the check is not a blanket refusal.
        expect(errors).toContain(null)
        expect(decoyHits).toBeGreaterThan(0)
        for (const reply of [attempts, deliveries]) {
          expect(reply.text).not.toContain("127.0.0.1")
          expect(reply.text).not.toContain(SECRET_BODY)
        }
        // Every resolution went to the name server: creating the endpoint, then one per attempt.
        expect(dns.queries()).toBeGreaterThanOrEqual(PINGS)
      })
  )
})
