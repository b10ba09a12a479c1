import { Duration, Effect, Layer, Option } from "effect"
import { Redis, type RedisConnection } from "../Redis/Redis.js"
import { Cache, CacheError, type CacheShape, type SetOptions } from "./Cache.js"

// One atomic step, so two increments can never both see "new key" and reset each other's expiry.
const INCREMENT_WITH_TTL = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value`

const ttlMillis = (options: SetOptions | undefined): number | undefined =>
  options?.ttl === undefined ? undefined : Math.max(1, Math.ceil(Duration.toMillis(options.ttl)))

export const make = (client: RedisConnection): CacheShape => {
  const run = <A>(operation: string, f: () => Promise<A>) =>
    Effect.tryPromise({
      try: f,
      catch: (cause) =>
        new CacheError({ operation, message: cause instanceof Error ? cause.message : String(cause), cause })
    }).pipe(Effect.withSpan(`Cache.${operation}`, { kind: "client", attributes: { "db.system": "redis" } }))

  return {
    get: (key) => run("get", () => client.get(key)).pipe(Effect.map(Option.fromNullable)),
    // Separate GETs, auto-pipelined into one round trip, work in Cluster mode where MGET across slots does not.
    getMany: (keys) =>
      run("getMany", () => Promise.all(keys.map((key) => client.get(key)))).pipe(
        Effect.map((values) => values.map(Option.fromNullable))
      ),
    set: (key, value, options) => {
      const px = ttlMillis(options)
      return run("set", () =>
        px === undefined ? client.set(key, value) : client.set(key, value, "PX", px)
      ).pipe(Effect.asVoid)
    },
    setIfAbsent: (key, value, options) => {
      const px = ttlMillis(options)
      return run("setIfAbsent", () =>
        px === undefined ? client.set(key, value, "NX") : client.set(key, value, "PX", px, "NX")
      ).pipe(Effect.map((reply) => reply === "OK"))
    },
    take: (key) => run("take", () => client.getdel(key)).pipe(Effect.map(Option.fromNullable)),
    delete: (key) => run("delete", () => client.del(key)).pipe(Effect.map((count) => count > 0)),
    increment: (key, options) =>
      run("increment", () =>
        client.eval(INCREMENT_WITH_TTL, 1, key, options?.by ?? 1, ttlMillis(options) ?? 0)
      ).pipe(Effect.map(Number)),
    ttl: (key) =>
      run("ttl", () => client.pttl(key)).pipe(
        Effect.map((ms) => (ms >= 0 ? Option.some(Duration.millis(ms)) : Option.none()))
      ),
    ping: run("ping", () => client.ping()).pipe(Effect.asVoid)
  }
}

export const layer = Layer.effect(Cache, Effect.map(Redis, make))
