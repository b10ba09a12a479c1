import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { bootstrapKey } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"
import { uniquePrefix } from "./support/TestRedis.js"

/*
 * Issue 12, item 12: sign-in limits must hold across instances, or N instances give an attacker N times the
 * attempts. Two servers on one Redis (one key prefix, as two instances of one deployment), each endpoint
 * limited: the attempts add up whichever instance answers.
 */

const LIMIT = 3

const post = (url: string, path: string, body: unknown, key?: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-forwarded-for": "203.0.113.99",
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` })
      },
      body: JSON.stringify(body)
    })
    return response.status
  })

/** A minute boundary inside a burst would reset the window: start just after one if it is close. */
const awayFromMinuteBoundary = Effect.suspend(() => {
  const second = new Date().getUTCSeconds()
  return second > 55 ? Effect.sleep(`${61 - second} seconds`) : Effect.void
})

describe("authentication rate limits across instances", () => {
  it.live(
    "refresh, second factor and passkey sign-in count together on two instances; invitation acceptance is limited",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const prefix = uniquePrefix("auth-limits")
          const env = { REDIS_KEY_PREFIX: prefix, AUTH_RATE_LIMIT_PER_MINUTE: String(LIMIT) }
          const first = yield* Layer.build(adminHarness(env))
          const one = Context.get(first, AdminServer)
          const two = Context.get(yield* Layer.build(adminHarness(env)), AdminServer)
          const endpoints: ReadonlyArray<readonly [string, unknown]> = [
            ["/api/v1/auth/refresh", { refreshToken: "tlr_not-a-token" }],
            ["/api/v1/auth/second-factor", { ticket: "not-a-ticket", code: "123456" }],
            ["/api/v1/auth/passkey/options", {}]
          ]
          for (const [path, body] of endpoints) {
            const statuses: Array<number> = []
            yield* awayFromMinuteBoundary
            for (let i = 0; i < LIMIT + 2; i++) {
              statuses.push(yield* post(i % 2 === 0 ? one.url : two.url, path, body))
            }
            expect(
              statuses.slice(0, LIMIT).every((status) => status !== 429),
              `${path}: ${statuses}`
            ).toBe(true)
            expect(statuses.slice(LIMIT), `${path}: ${statuses}`).toEqual([429, 429])
          }
          // Accepting needs a signed-in user; the limit counts that user's address trying links.
          const key = yield* bootstrapKey("limits@example.com").pipe(Effect.provide(first))
          yield* awayFromMinuteBoundary
          const accepts: Array<number> = []
          for (let i = 0; i < LIMIT + 2; i++) {
            accepts.push(yield* post(one.url, `/api/v1/invitations/tli_guess-${i}/accept`, {}, key))
          }
          expect(accepts).toEqual([404, 404, 404, 429, 429])
        })
      ),
    120_000
  )
})
