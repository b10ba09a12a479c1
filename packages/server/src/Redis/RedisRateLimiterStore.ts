import * as RateLimiter from "@effect/experimental/RateLimiter"
import { Duration, Effect, Layer } from "effect"
import * as LuaScript from "./LuaScript.js"
import { Redis, type RedisConnection } from "./Redis.js"

/*
 * `@effect/experimental`'s RateLimiter on our own Redis connection. The package's Redis store opens a
 * standalone `ioredis` client of its own, which cannot follow a Cluster's redirects; this store runs the same
 * two scripts on the shared connection (standalone, Sentinel or Cluster: each touches one key, or one key and
 * its `:refill` twin, which a hash tag keeps on one slot). Refill periods are whole milliseconds: the
 * package's store passes `window / limit` to `PX` as is, and Redis refuses a fraction (STACK.md), so a limit
 * of 7 a minute failed every call there.
 */

const FIXED_WINDOW = `
local key = KEYS[1]
local tokens = tonumber(ARGV[1])
local refillms = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local current = tonumber(redis.call("GET", key))
if not current then
  local nextpttl = refillms * tokens
  redis.call("SET", key, tokens, "PX", nextpttl)
  return { tokens, nextpttl }
end
local currentpttl = tonumber(redis.call("PTTL", key) or "0")
if currentpttl < 0 then currentpttl = 0 end
local next = current + tokens
if limit > 0 and next > limit then
  return { next, currentpttl }
end
local nextpttl = currentpttl + (refillms * tokens)
redis.call("SET", key, next, "PX", nextpttl)
return { next, nextpttl }`

const TOKEN_BUCKET = `
local key = KEYS[1]
local refill_key = KEYS[2]
local tokens = tonumber(ARGV[1])
local refill_ms = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local overflow = ARGV[5] == "1"
local current = tonumber(redis.call("GET", key))
local last_refill = tonumber(redis.call("GET", refill_key))
if not current then
  current = limit
  last_refill = now
end
local refill_amount = math.floor((now - last_refill) / refill_ms)
if refill_amount > 0 then
  current = math.min(current + refill_amount, limit)
  last_refill = last_refill + (refill_amount * refill_ms)
end
-- Idle buckets are full again after limit * refill_ms: let them expire then instead of living forever.
local ttl = math.max(limit * refill_ms, 1000) * 2
redis.call("SET", refill_key, last_refill, "PX", ttl)
local next = current - tokens
if next < 0 and not overflow then
  redis.call("SET", key, current, "PX", ttl)
  return next
end
redis.call("SET", key, next, "PX", ttl)
return next`

const storeError = (operation: string) => (cause: unknown) =>
  new RateLimiter.RateLimitStoreError({
    message: `rate limiter ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

const fixedWindow = LuaScript.make(FIXED_WINDOW)
const tokenBucket = LuaScript.make(TOKEN_BUCKET)

const wholeMillis = (duration: Duration.Duration) => Math.max(1, Math.ceil(Duration.toMillis(duration)))

/** Keys live under `ratelimit:` within the connection's prefix; the braces keep a bucket's two keys together. */
export const make = (client: RedisConnection) =>
  RateLimiter.RateLimiterStore.of({
    fixedWindow: (options) =>
      Effect.tryPromise({
        try: () =>
          fixedWindow<[number, number]>(
            client,
            [`ratelimit:{${options.key}}`],
            [options.tokens, wholeMillis(options.refillRate), options.limit ?? 0]
          ),
        catch: storeError("fixedWindow")
      }),
    tokenBucket: (options) =>
      Effect.clockWith((clock) =>
        Effect.tryPromise({
          try: () =>
            tokenBucket<number>(
              client,
              [`ratelimit:{${options.key}}`, `ratelimit:{${options.key}}:refill`],
              [
                options.tokens,
                wholeMillis(options.refillRate),
                options.limit,
                clock.unsafeCurrentTimeMillis(),
                options.allowOverflow ? 1 : 0
              ]
            ),
          catch: storeError("tokenBucket")
        })
      )
  })

export const layer = Layer.effect(RateLimiter.RateLimiterStore, Effect.map(Redis, make))
