import { Clock, Duration, Effect, Layer, Option, Schedule } from "effect"
import { Cache, type CacheShape, type SetOptions } from "./Cache.js"

interface Entry {
  value: string
  expiresAt: number | undefined
}

/**
 * The single-instance cache for embedded mode. JavaScript runs one callback at a time, so every operation
 * here is atomic just as the Redis commands are.
 */
export const make = Effect.gen(function* () {
  const entries = new Map<string, Entry>()

  const live = (key: string, now: number): Entry | undefined => {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
      entries.delete(key)
      return undefined
    }
    return entry
  }

  const expiry = (now: number, options: SetOptions | undefined) =>
    options?.ttl === undefined ? undefined : now + Math.max(1, Math.ceil(Duration.toMillis(options.ttl)))

  const withNow = <A>(f: (now: number) => A) => Effect.map(Clock.currentTimeMillis, f)

  // Expired keys nobody reads again would otherwise stay in memory forever.
  yield* Effect.forkScoped(
    Effect.repeat(
      withNow((now) => {
        for (const key of entries.keys()) live(key, now)
      }),
      Schedule.spaced("1 minute")
    )
  )

  const cache: CacheShape = {
    get: (key) => withNow((now) => Option.fromNullable(live(key, now)?.value)),
    getMany: (keys) => withNow((now) => keys.map((key) => Option.fromNullable(live(key, now)?.value))),
    set: (key, value, options) =>
      withNow((now) => {
        entries.set(key, { value, expiresAt: expiry(now, options) })
      }),
    setIfAbsent: (key, value, options) =>
      withNow((now) => {
        if (live(key, now) !== undefined) return false
        entries.set(key, { value, expiresAt: expiry(now, options) })
        return true
      }),
    take: (key) =>
      withNow((now) => {
        const entry = live(key, now)
        entries.delete(key)
        return Option.fromNullable(entry?.value)
      }),
    delete: (key) => withNow((now) => live(key, now) !== undefined && entries.delete(key)),
    increment: (key, options) =>
      withNow((now) => {
        const entry = live(key, now)
        const by = options?.by ?? 1
        if (entry === undefined) {
          entries.set(key, { value: String(by), expiresAt: expiry(now, options) })
          return by
        }
        const next = Number(entry.value) + by
        entry.value = String(next)
        return next
      }),
    ttl: (key) =>
      withNow((now) => {
        const expiresAt = live(key, now)?.expiresAt
        return expiresAt === undefined ? Option.none() : Option.some(Duration.millis(expiresAt - now))
      }),
    ping: Effect.void
  }
  return cache
})

export const layer = Layer.scoped(Cache, make)
