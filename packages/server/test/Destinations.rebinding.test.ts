import { afterAll, expect, layer } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { startRebindingDns } from "./support/RebindingDns.js"

/*
 * A broker destination whose name passes the outbound policy when saved and is re-pointed at loopback before
 * the dispatcher connects: the connection is vetted again (the vetting dial resolves the name itself and
 * checks the address it connects to), so it is refused then, and the destination's page says why in the
 * policy's words only. 127.0.0.2 is allowed here (OUTBOUND_ALLOW) and 127.0.0.1, where the machine's RabbitMQ
 * listens, is not.
 */

const NAME = `rebind-${process.pid}.destination.test`
const dns = await startRebindingDns(NAME, ["127.0.0.2", "127.0.0.1"])
afterAll(() => dns.close())

layer(
  adminHarness(
    {
      OUTBOUND_ALLOW: "127.0.0.2",
      WEBHOOK_RETRY_DELAYS: "1 hour",
      WEBHOOK_POLL_INTERVAL: "50 millis",
      WEBHOOK_TIMEOUT: "10 seconds"
    },
    { role: "all" }
  ),
  { excludeTestServices: true, timeout: 120_000 }
)("destinations and DNS rebinding", (it) => {
  it.effect("a name re-pointed at loopback after it was saved is refused when the broker is dialled", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("rebind-destination@example.com"))
      const base = `/api/v1/organizations/${tenant.orgId}/destinations`
      const created = yield* ok(
        yield* call("POST", base, {
          key: tenant.keys.OWNER,
          body: { url: `amqp://guest:guest@${NAME}:5672/rebound`, eventTypes: ["export.ready"] }
        }),
        201
      )
      expect(dns.queries()).toBe(1)
      const id = created.body.id as string
      yield* ok(yield* call("POST", `${base}/${id}/test`, { key: tenant.keys.OWNER }), 202)
      const failed = yield* call("GET", `${base}/${id}`, { key: tenant.keys.OWNER }).pipe(
        Effect.filterOrFail((reply) => reply.body.lastError !== null),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("45 seconds")
      )
      expect(failed.body.lastError).toContain("loopback, private")
      expect(failed.body.lastError).not.toContain("127.0.0.1")
      expect(failed.body.delivered).toBe(0)
      expect(dns.queries()).toBeGreaterThanOrEqual(2)
    })
  )
})
