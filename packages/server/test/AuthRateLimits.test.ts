import * as RateLimiter from "@effect/experimental/RateLimiter"
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Schedule, type Scope } from "effect"
import { Cluster } from "ioredis"
import type { AppConfigShape } from "../src/Config/AppConfig.js"
import { make as makeRedis, Redis } from "../src/Redis/Redis.js"
import * as RedisRateLimiterStore from "../src/Redis/RedisRateLimiterStore.js"
import { bootstrapKey } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"
import * as Topology from "./support/RedisTopology.js"
import { cleanupPrefix, redisConfig, redisUrl, uniquePrefix } from "./support/TestRedis.js"

/*
 * Issue 12, item 12: sign-in limits must hold across instances, or N instances give an attacker N times the
 * attempts. Two servers on one Redis (one key prefix, as two instances of one deployment, each with its own
 * connection and RateLimiter), every limited endpoint: the attempts add up whichever instance answers.
 * Seven a minute on purpose: 60 000 / 7 ms is a fraction, which the package's own Redis store sends to
 * `PX` and Redis refuses (STACK.md); every call failed there.
 */

const LIMIT = 7
/** The email sign-in request is also limited per address (5 an hour); here only the per-IP limit is counted. */
const perIpOnly = { AUTH_EMAIL_SIGN_INS_PER_HOUR: "1000" }

interface Endpoint {
  readonly method: "GET" | "POST"
  readonly path: string
  readonly body?: unknown
  /** Needs a signed-in caller (the limit counts that caller's address). */
  readonly signedIn?: boolean
}

const ENDPOINTS: ReadonlyArray<Endpoint> = [
  { method: "POST", path: "/api/v1/auth/refresh", body: { refreshToken: "tlr_not-a-token" } },
  { method: "POST", path: "/api/v1/auth/second-factor", body: { ticket: "not-a-ticket", code: "123456" } },
  { method: "POST", path: "/api/v1/auth/passkey/options", body: {} },
  {
    method: "POST",
    path: "/api/v1/auth/passkey",
    body: { credential: { id: "x", rawId: "x", type: "public-key", response: {} } }
  },
  { method: "GET", path: "/api/v1/auth/oauth/nobody/start" },
  { method: "GET", path: "/api/v1/auth/oauth/nobody/callback?code=c&state=s" },
  { method: "POST", path: "/api/v1/invitations/tli_guess/accept", body: {}, signedIn: true },
  { method: "POST", path: "/api/v1/me/passkeys/registration-options", body: {}, signedIn: true },
  { method: "POST", path: "/api/v1/me/totp", body: {}, signedIn: true },
  { method: "POST", path: "/api/v1/me/identities/nobody", body: {}, signedIn: true },
  { method: "POST", path: "/api/v1/auth/email", body: { email: "limits-nobody@example.com" } },
  { method: "POST", path: "/api/v1/auth/email/link", body: { token: "tle_guess" } },
  {
    method: "POST",
    path: "/api/v1/auth/email/code",
    body: { email: "limits-nobody@example.com", code: "123456" }
  }
]

/** Endpoints that share a counter (passkey options and sign-in) are tried from addresses of their own. */
const addressOf = (endpoint: Endpoint) => `203.0.113.${ENDPOINTS.indexOf(endpoint) + 1}`

const send = (url: string, endpoint: Endpoint, key: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}${endpoint.path}`, {
      method: endpoint.method,
      redirect: "manual",
      headers: {
        "x-forwarded-for": addressOf(endpoint),
        ...(endpoint.body === undefined ? {} : { "content-type": "application/json" }),
        ...(endpoint.signedIn ? { authorization: `Bearer ${key}` } : {})
      },
      ...(endpoint.body === undefined ? {} : { body: JSON.stringify(endpoint.body) })
    })
    const text = await response.text()
    const retryAfter =
      response.status === 429 ? (JSON.parse(text) as { retryAfterSeconds: number }).retryAfterSeconds : null
    return { status: response.status, retryAfter, header: response.headers.get("retry-after") }
  })

interface Instance {
  readonly url: string
  /** An API key of a user of that instance's database (each test server has a database of its own). */
  readonly key: string
}

/** Sends LIMIT + 2 attempts, alternating over the instances; the first LIMIT pass, the rest are 429. */
const exhaust = (instances: ReadonlyArray<Instance>, endpoint: Endpoint) =>
  Effect.gen(function* () {
    const replies: Array<{ status: number; retryAfter: number | null; header: string | null }> = []
    for (let i = 0; i < LIMIT + 2; i++) {
      const instance = instances[i % instances.length]!
      replies.push(yield* send(instance.url, endpoint, instance.key))
    }
    const statuses = replies.map((reply) => reply.status)
    const what = `${endpoint.method} ${endpoint.path}: ${statuses}`
    expect(
      statuses.slice(0, LIMIT).every((status) => status !== 429 && status < 500),
      what
    ).toBe(true)
    expect(statuses.slice(LIMIT), what).toEqual([429, 429])
    // The body says when the window frees an attempt: within the minute.
    const retryAfter = Number(replies[LIMIT]!.retryAfter)
    expect(retryAfter, what).toBeGreaterThan(0)
    expect(retryAfter, what).toBeLessThanOrEqual(61)
    // The standard header says the same, for clients and proxies that read only headers.
    expect(replies[LIMIT]!.header, what).toBe(String(retryAfter))
  })

describe("authentication rate limits", () => {
  it.live(
    "every limited endpoint counts attempts together on two instances sharing Redis",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const prefix = uniquePrefix("auth-limits")
          const env = { REDIS_KEY_PREFIX: prefix, AUTH_RATE_LIMIT_PER_MINUTE: String(LIMIT), ...perIpOnly }
          const instances: Array<Instance> = []
          for (const name of ["one", "two"]) {
            const context = yield* Layer.build(adminHarness(env))
            const key = yield* bootstrapKey(`limits-${name}@example.com`).pipe(Effect.provide(context))
            instances.push({ url: Context.get(context, AdminServer).url, key })
          }
          for (const endpoint of ENDPOINTS) yield* exhaust(instances, endpoint)
        })
      ),
    180_000
  )

  it.live(
    "in embedded mode (no Redis) the same limits hold in memory",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const env = { REDIS_URL: "", AUTH_RATE_LIMIT_PER_MINUTE: String(LIMIT), ...perIpOnly }
          const context = yield* Layer.build(adminHarness(env))
          const key = yield* bootstrapKey("limits-memory@example.com").pipe(Effect.provide(context))
          const instance = { url: Context.get(context, AdminServer).url, key }
          for (const endpoint of ENDPOINTS) yield* exhaust([instance], endpoint)
        })
      ),
    120_000
  )
})

/** The store behind the limits, on each Redis topology Tapline supports (one script, one key per bucket). */
const storeContract = (name: string, redis: Layer.Layer<Redis, unknown>) =>
  describe(`RateLimiter on Redis ${name}`, () => {
    layer(RateLimiter.layer.pipe(Layer.provide(RedisRateLimiterStore.layer), Layer.provideMerge(redis)), {
      excludeTestServices: true,
      timeout: 60_000
    })((it) => {
      it.effect("a fixed window with a fractional refill admits exactly the limit, then says when", () =>
        Effect.gen(function* () {
          const limiter = yield* RateLimiter.RateLimiter
          const key = `fixed-${Math.random()}`
          const consume = limiter.consume({ key, limit: 7, window: "1 minute", onExceeded: "fail" })
          const admitted = yield* Effect.all(Array.from({ length: 7 }, () => consume))
          expect(admitted.map((r) => r.remaining)).toEqual([6, 5, 4, 3, 2, 1, 0])
          const refused = yield* Effect.flip(consume)
          expect(refused.reason).toBe("Exceeded")
          const after = refused.reason === "Exceeded" ? Duration.toMillis(refused.retryAfter) : 0
          expect(after).toBeGreaterThan(50_000)
          expect(after).toBeLessThanOrEqual(60_007)
        })
      )

      // A restarted, new or failed-over node has no scripts: the store must send them again, on every topology.
      it.effect("keeps counting after every node forgot its scripts (SCRIPT FLUSH)", () =>
        Effect.gen(function* () {
          const limiter = yield* RateLimiter.RateLimiter
          const client = yield* Redis
          const flush = Effect.promise(() =>
            client instanceof Cluster
              ? Promise.all(client.nodes("master").map((node) => node.script("FLUSH")))
              : client.script("FLUSH")
          )
          const key = `flushed-${Math.random()}`
          const fixed = limiter.consume({ key, limit: 3, window: "1 minute", onExceeded: "fail" })
          const bucket = limiter.consume({
            key: `${key}-bucket`,
            limit: 3,
            window: "1 minute",
            algorithm: "token-bucket",
            onExceeded: "fail"
          })
          const remaining: Array<number> = []
          for (let i = 0; i < 3; i++) {
            yield* flush
            remaining.push((yield* fixed).remaining, (yield* bucket).remaining)
          }
          expect(remaining).toEqual([2, 2, 1, 1, 0, 0])
          yield* flush
          expect((yield* Effect.flip(fixed)).reason).toBe("Exceeded")
          expect((yield* Effect.flip(bucket)).reason).toBe("Exceeded")
        })
      )

      it.effect("a token bucket refuses past its tokens and refills over time", () =>
        Effect.gen(function* () {
          const limiter = yield* RateLimiter.RateLimiter
          const key = `bucket-${Math.random()}`
          const consume = limiter.consume({
            key,
            limit: 3,
            window: "600 millis",
            algorithm: "token-bucket",
            onExceeded: "fail"
          })
          const admitted = yield* Effect.all([consume, consume, consume])
          expect(admitted.map((r) => r.remaining)).toEqual([2, 1, 0])
          expect((yield* Effect.flip(consume)).reason).toBe("Exceeded")
          // One token comes back every 200 ms: wait for it rather than for a fixed time.
          const next = yield* consume.pipe(
            Effect.retry({
              while: (e) => e.reason === "Exceeded",
              schedule: Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(500)))
            })
          )
          expect(next.remaining).toBeGreaterThanOrEqual(0)
        })
      )
    })
  })

const redisAt = (config: Effect.Effect<AppConfigShape["redis"], never, Scope.Scope>) =>
  Layer.unwrapScoped(Effect.map(config, (redis) => Layer.scoped(Redis, makeRedis(redis))))

storeContract(
  "standalone",
  redisAt(
    Effect.gen(function* () {
      const prefix = uniquePrefix("ratelimiter")
      yield* cleanupPrefix(redisUrl, prefix)
      return redisConfig(prefix)
    })
  )
)
storeContract("Sentinel", redisAt(Topology.sentinelConfig(uniquePrefix("ratelimiter-sentinel"))))
storeContract("Cluster", redisAt(Topology.clusterConfig(uniquePrefix("ratelimiter-cluster"))))
