import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Quotas } from "../src/Quotas/Quotas.js"
import { serviceHarnessWith } from "./support/ServiceHarness.js"
import { cleanupPrefix, redisUrl, uniquePrefix } from "./support/TestRedis.js"

/*
 * Issue 26: one organisation's quota is its own. Counted on the real Redis every instance shares, so a
 * second instance counts together with the first; the second organisation's first call passes while the
 * first organisation is refused.
 */

const prefix = uniquePrefix("quotas")
const services = Quotas.Default.pipe(
  Layer.provideMerge(
    serviceHarnessWith({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, QUOTA_TEST_PINGS_PER_MINUTE: "3" })
  ),
  Layer.provideMerge(Layer.scopedDiscard(cleanupPrefix(redisUrl, prefix)))
)

layer(services, { excludeTestServices: true })("Quotas", (it) => {
  describe("per organisation and minute", () => {
    it.effect(
      "the quota refuses with 429 and a Retry-After, and only for the organisation that used it",
      () =>
        Effect.gen(function* () {
          const quotas = yield* Quotas
          const flooder = `org-a-${Date.now()}`
          const victim = `org-b-${Date.now()}`
          for (let i = 0; i < 3; i++) yield* quotas.take("testPings", flooder)
          const refused = yield* Effect.flip(quotas.take("testPings", flooder))
          expect(refused._tag).toBe("TooManyRequests")
          const retryAfter = refused.retryAfterSeconds
          expect(retryAfter).toBeGreaterThanOrEqual(1)
          expect(retryAfter).toBeLessThanOrEqual(60)
          yield* quotas.take("testPings", victim)
          // Another kind has its own count.
          yield* quotas.take("exports", flooder)
        })
    )
  })
})
