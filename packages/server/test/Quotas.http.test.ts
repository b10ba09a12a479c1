import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 26 over HTTP: test pings and export creation are counted per organisation and minute; past the
 * quota the API answers 429 with `Retry-After`, for the organisation that used it up only.
 */

const QUOTA = 2

const testPing = (tenant: Tenant, endpointId: string) =>
  call("POST", `/api/v1/organizations/${tenant.orgId}/webhooks/${endpointId}/test`, {
    key: tenant.keys.OWNER
  })

const newEndpoint = (tenant: Tenant) =>
  Effect.map(
    Effect.flatMap(
      call("POST", `/api/v1/organizations/${tenant.orgId}/webhooks`, {
        key: tenant.keys.OWNER,
        body: { url: "http://127.0.0.1:9/never", eventTypes: ["event.status_changed"] }
      }),
      (reply) => ok(reply, 201, "create endpoint")
    ),
    (reply) => reply.body.endpoint.id as string
  )

const newExport = (tenant: Tenant) =>
  call("POST", `/api/v1/organizations/${tenant.orgId}/exports`, {
    key: tenant.keys.OWNER,
    body: { kind: "audit" }
  })

const expectRefused = (reply: { status: number; headers: Headers; body: unknown }) => {
  expect(reply.status).toBe(429)
  const retryAfter = Number(reply.headers.get("retry-after"))
  expect(retryAfter).toBeGreaterThanOrEqual(1)
  expect(retryAfter).toBeLessThanOrEqual(60)
  expect(reply.body).toMatchObject({ _tag: "TooManyRequests", retryAfterSeconds: retryAfter })
}

layer(
  adminHarness({
    QUOTA_TEST_PINGS_PER_MINUTE: String(QUOTA),
    QUOTA_EXPORTS_PER_MINUTE: String(QUOTA),
    JOBS_ENABLED: "false"
  }),
  { excludeTestServices: true, timeout: 120_000 }
)("quotas over HTTP", (it) => {
  it.effect("test pings past the organisation's quota answer 429 with Retry-After; another's pass", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      const flooder = yield* createTenant(admin)
      const victim = yield* createTenant(admin)
      const flooderHook = yield* newEndpoint(flooder)
      const victimHook = yield* newEndpoint(victim)
      for (let n = 0; n < QUOTA; n++) yield* ok(yield* testPing(flooder, flooderHook), 202)
      expectRefused(yield* testPing(flooder, flooderHook))
      // Another endpoint of the same organisation shares its quota.
      expectRefused(yield* testPing(flooder, yield* newEndpoint(flooder)))
      yield* ok(yield* testPing(victim, victimHook), 202)
    })
  )

  it.effect("exports past the organisation's quota answer 429 with Retry-After and are not created", () =>
    Effect.gen(function* () {
      const admin = yield* bootstrapKey()
      const flooder = yield* createTenant(admin)
      const victim = yield* createTenant(admin)
      for (let n = 0; n < QUOTA; n++) yield* ok(yield* newExport(flooder), 202)
      expectRefused(yield* newExport(flooder))
      const listed = yield* ok(
        yield* call("GET", `/api/v1/organizations/${flooder.orgId}/exports`, { key: flooder.keys.OWNER }),
        200
      )
      expect(listed.body.items).toHaveLength(QUOTA)
      yield* ok(yield* newExport(victim), 202)
    })
  )
})
