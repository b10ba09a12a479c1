import { afterAll, expect, layer } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { type CaptureServer, startCaptureServer } from "./support/CaptureServer.js"

/*
 * Issue 26: an organisation whose endpoints never answer cannot hold the dispatcher's slots. Its requests
 * hang for the whole test (the delivery timeout is longer than the test), so what the hung receiver has
 * seen is exactly what the flooder has in flight: at most WEBHOOK_ENDPOINT_CONCURRENCY per endpoint and
 * WEBHOOK_ORGANIZATION_CONCURRENCY for the organisation, and another organisation's ping is delivered
 * meanwhile. The mechanism is asserted, not the clock.
 */

const ENDPOINT_CAP = 2
const ORGANIZATION_CAP = 3

const hung = await startCaptureServer()
hung.fallback = () => "stall"
const receiver = await startCaptureServer()
receiver.fallback = () => ({ status: 204 })
afterAll(async () => {
  await hung.close()
  await receiver.close()
})

const newEndpoint = (tenant: Tenant, server: CaptureServer, path: string) =>
  Effect.map(
    Effect.flatMap(
      call("POST", `/api/v1/organizations/${tenant.orgId}/webhooks`, {
        key: tenant.keys.OWNER,
        body: { url: `${server.url}${path}`, eventTypes: ["event.status_changed"] }
      }),
      (reply) => ok(reply, 201, "create endpoint")
    ),
    (reply) => reply.body.endpoint.id as string
  )

const ping = (tenant: Tenant, endpointId: string) =>
  Effect.flatMap(
    call("POST", `/api/v1/organizations/${tenant.orgId}/webhooks/${endpointId}/test`, {
      key: tenant.keys.OWNER
    }),
    (reply) => ok(reply, 202, "test ping")
  )

const waitUntil = (condition: () => boolean, what: string) =>
  Effect.sync(condition).pipe(
    Effect.repeat({ until: (met) => met, schedule: Schedule.spaced("20 millis") }),
    Effect.timeoutFail({ duration: "45 seconds", onTimeout: () => new Error(`waiting for ${what}`) })
  )

layer(
  adminHarness({
    WEBHOOK_TIMEOUT: "5 minutes",
    WEBHOOK_POLL_INTERVAL: "50 millis",
    WEBHOOK_CONCURRENCY: "16",
    WEBHOOK_ENDPOINT_CONCURRENCY: String(ENDPOINT_CAP),
    WEBHOOK_ORGANIZATION_CONCURRENCY: String(ORGANIZATION_CAP),
    QUOTA_TEST_PINGS_PER_MINUTE: "100"
  }),
  { excludeTestServices: true, timeout: 120_000 }
)("webhook dispatcher fairness", (it) => {
  it.effect(
    "48 pings to endpoints that never answer hold only their own slots: another organisation's ping is delivered meanwhile",
    () =>
      Effect.gen(function* () {
        const admin = yield* bootstrapKey()
        const flooder = yield* createTenant(admin)
        const victim = yield* createTenant(admin)
        const paths = ["/hung-a", "/hung-b", "/hung-c"]
        const hooks: Array<string> = []
        for (const path of paths) hooks.push(yield* newEndpoint(flooder, hung, path))
        for (let n = 0; n < 16; n++) for (const hook of hooks) yield* ping(flooder, hook)
        // The flood fills the organisation's share of the dispatcher, no more.
        yield* waitUntil(() => hung.requests.length >= ORGANIZATION_CAP, "the flood to reach its cap")

        const victimHook = yield* newEndpoint(victim, receiver, "/victim")
        yield* ping(victim, victimHook)
        yield* waitUntil(() => receiver.requests.some((r) => r.url === "/victim"), "the victim's ping")

        // Nothing the flooder sent has finished: all it has seen is still in flight.
        const perPath = paths.map((path) => hung.requests.filter((r) => r.url === path).length)
        expect(Math.max(...perPath)).toBeLessThanOrEqual(ENDPOINT_CAP)
        expect(hung.requests.length).toBe(ORGANIZATION_CAP)
      }),
    90_000
  )
})
