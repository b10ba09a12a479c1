import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { expect, layer } from "@effect/vitest"
import { AiBudgetExhausted, AiUnavailable } from "@tapline/domain"
import { Effect } from "effect"
import { bootstrapKey, call, createTenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 35 over HTTP, on a server with no language-model key: there is no AI feature, so its endpoints answer
 * 404 AiUnavailable (to every role), while a malformed budget is still a 400. With a key, the authorization
 * matrix holds usage to VIEWER and the budget to OWNER; the rules behind them are in Ai.contract.test.ts.
 */

layer(adminHarness({ JOBS_ENABLED: "false" }), { excludeTestServices: true, timeout: 120_000 })(
  "AI usage API without a provider",
  (it) => {
    it.effect("answers 404 AiUnavailable; a malformed budget is a 400; the errors carry their statuses", () =>
      Effect.gen(function* () {
        const admin = yield* bootstrapKey()
        const tenant = yield* createTenant(admin)
        const base = `/api/v1/organizations/${tenant.orgId}/ai`
        for (const key of [tenant.keys.VIEWER, tenant.keys.OWNER]) {
          const usage = yield* call("GET", `${base}/usage`, { key })
          expect(usage.status).toBe(404)
          expect(usage.body).toMatchObject({ _tag: "AiUnavailable" })
        }
        const budget = yield* call("PUT", `${base}/budget`, {
          key: tenant.keys.OWNER,
          body: { monthlyBudgetUsd: 25 }
        })
        expect([budget.status, budget.body._tag]).toEqual([404, "AiUnavailable"])
        for (const body of [{ monthlyBudgetUsd: -1 }, { monthlyBudgetUsd: "25" }, {}]) {
          const bad = yield* call("PUT", `${base}/budget`, { key: tenant.keys.OWNER, body })
          expect(bad.status).toBe(400)
        }
        // Recaps do not exist either: creating, streaming and reading them all answer AiUnavailable.
        const recaps = `/api/v1/organizations/${tenant.orgId}/recaps`
        const window = { from: "2026-12-01T00:00:00Z", to: "2026-12-02T00:00:00Z" }
        for (const [method, path, body] of [
          ["POST", recaps, window],
          ["POST", `${recaps}/stream`, window],
          ["GET", recaps, undefined],
          ["GET", `${recaps}/01a2028c-3b1e-7c00-8000-0000000000e1`, undefined]
        ] as const) {
          const reply = yield* call(method, path, { key: tenant.keys.EDITOR, body })
          expect([path, reply.status, reply.body._tag]).toEqual([path, 404, "AiUnavailable"])
        }
        const badMonth = yield* call("GET", `${base}/usage?month=2026-13`, { key: tenant.keys.VIEWER })
        expect(badMonth.status).toBe(400)
        // The statuses the recap API will answer with, from the domain's errors.
        expect(HttpApiSchema.getStatusError(AiUnavailable)).toBe(404)
        expect(HttpApiSchema.getStatusError(AiBudgetExhausted)).toBe(429)
      })
    )
  }
)
