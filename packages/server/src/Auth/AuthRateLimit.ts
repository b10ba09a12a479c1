import * as RateLimiter from "@effect/experimental/RateLimiter"
import { TooManyRequests } from "@tapline/domain"
import { Duration, Effect, Option } from "effect"
import { Audit } from "../Audit/Audit.js"
import { Cache } from "../Cache/Cache.js"
import { AppConfig } from "../Config/AppConfig.js"
import { hashSecret } from "../Crypto/Tokens.js"
import { exceededAsTooManyRequests } from "../Quotas/Quotas.js"

/**
 * Limits on the authentication endpoints: attempts per client IP per minute and endpoint, and a lockout of
 * an account's second factor after repeated failures. Attempts are counted by `@effect/experimental`'s
 * RateLimiter on the store Backends chose (Redis when configured, so every instance counts together; memory
 * in embedded mode). A store outage is an outage (a defect), not a free pass.
 */
export class AuthRateLimit extends Effect.Service<AuthRateLimit>()("@tapline/server/AuthRateLimit", {
  effect: Effect.gen(function* () {
    const cache = yield* Cache
    const audit = yield* Audit
    const limiter = yield* RateLimiter.RateLimiter
    const { auth } = yield* AppConfig

    /** Counts one attempt at `endpoint` from the caller's IP; fails with 429 past the per-minute limit. */
    const attempt = (endpoint: string) =>
      Effect.gen(function* () {
        const ip = (yield* audit.requestIp) ?? "unknown"
        yield* limiter.consume({
          key: `auth:${endpoint}:${ip}`,
          limit: auth.rateLimitPerMinute,
          window: "1 minute",
          algorithm: "fixed-window",
          onExceeded: "fail"
        })
      }).pipe(exceededAsTooManyRequests("too many attempts from this address; wait a minute"))

    /**
     * Counts one attempt on `subject` (an email address, say) whatever address it comes from: the per-IP
     * limit cannot stop a request spread over many addresses. The subject is hashed into the key.
     */
    const attemptOn = (endpoint: string, subject: string, limit: number, window: Duration.DurationInput) =>
      limiter
        .consume({
          key: `auth:${endpoint}:${hashSecret(subject).toString("base64url")}`,
          limit,
          window,
          algorithm: "fixed-window",
          onExceeded: "fail"
        })
        .pipe(exceededAsTooManyRequests("too many attempts for this address; wait a while"))

    const lockKey = (userId: string) => `auth:2fa-failures:${userId}`

    /** Fails with 429 while the account's second factor is locked. */
    const ensureNotLocked = (userId: string) =>
      Effect.gen(function* () {
        const failures = yield* cache.get(lockKey(userId))
        if (Option.isSome(failures) && Number(failures.value) >= auth.lockoutThreshold) {
          const left = yield* cache.ttl(lockKey(userId))
          return yield* Effect.fail(
            new TooManyRequests({
              message: "too many failed second-factor attempts; the second factor is locked for a while",
              retryAfterSeconds: Option.match(left, {
                onNone: () => 60,
                onSome: (d) => Math.ceil(Duration.toSeconds(d))
              })
            })
          )
        }
      }).pipe(Effect.catchTag("CacheError", Effect.die))

    /** One failed second-factor attempt; the lockout window starts at the first failure. */
    const recordFailure = (userId: string) =>
      cache
        .increment(lockKey(userId), { ttl: auth.lockoutDuration })
        .pipe(Effect.catchTag("CacheError", Effect.die))

    const clearFailures = (userId: string) =>
      cache.delete(lockKey(userId)).pipe(Effect.asVoid, Effect.catchTag("CacheError", Effect.die))

    return { attempt, attemptOn, ensureNotLocked, recordFailure, clearFailures } as const
  }),
  dependencies: [RateLimiter.layer]
}) {}
