import { randomUUID } from "node:crypto"
import { Effect, Either, Layer } from "effect"
import * as LuaScript from "../Redis/LuaScript.js"
import { Redis, type RedisConnection } from "../Redis/Redis.js"
import { LEASE_MILLIS, type Lease, StreamLeaseError, StreamLeases } from "./StreamLeases.js"

/*
 * A holder's leases are one sorted set: member the lease id, score its expiry in Redis's own clock (TIME), so
 * instances with drifting clocks agree. Acquiring drops expired leases, counts, and adds in one script; the
 * key expires with its newest lease, so a holder who left leaves nothing behind.
 */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(0, tonumber(soonest[2]) - now)
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return -1`

const REFRESH = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`

const acquire = LuaScript.make(ACQUIRE)
const refresh = LuaScript.make(REFRESH)

const keyOf = (holder: string) => `live:leases:${holder}`

const run = <A>(operation: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (cause) =>
      new StreamLeaseError({
        message: `stream lease ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })
  })

/** `leaseMillis`: how long a lease holds unrefreshed (tests shorten it). */
export const make = (client: RedisConnection, leaseMillis = LEASE_MILLIS) => {
  return StreamLeases.of({
    acquire: (holder, limit) => {
      const lease: Lease = { holder, id: randomUUID() }
      return run("acquire", () =>
        acquire<number>(client, [keyOf(holder)], [lease.id, limit, leaseMillis])
      ).pipe(Effect.map((wait) => (wait < 0 ? Either.right(lease) : Either.left(wait))))
    },
    refresh: (lease) =>
      Effect.asVoid(
        run("refresh", () => refresh<number>(client, [keyOf(lease.holder)], [lease.id, leaseMillis]))
      ),
    release: (lease) => Effect.asVoid(run("release", () => client.zrem(keyOf(lease.holder), lease.id)))
  })
}

export const layer = Layer.effect(
  StreamLeases,
  Effect.map(Redis, (client) => make(client))
)
