import { randomUUID } from "node:crypto"
import { Effect, Either, Layer } from "effect"
import { LEASE_MILLIS, type Lease, StreamLeases } from "./StreamLeases.js"

/** This process's leases (a single instance, no Redis): the same rules as the Redis sorted sets. */
/** `leaseMillis`: how long a lease holds unrefreshed (tests shorten it). */
export const make = (leaseMillis = LEASE_MILLIS) => {
  const holders = new Map<string, Map<string, number>>()
  const live = (holder: string, now: number) => {
    const leases = holders.get(holder) ?? new Map<string, number>()
    for (const [id, expiry] of leases) if (expiry <= now) leases.delete(id)
    if (leases.size === 0) holders.delete(holder)
    return leases
  }
  return StreamLeases.of({
    acquire: (holder, limit) =>
      Effect.sync(() => {
        const now = Date.now()
        const leases = live(holder, now)
        if (leases.size >= limit) return Either.left(Math.max(0, Math.min(...leases.values()) - now))
        const lease: Lease = { holder, id: randomUUID() }
        leases.set(lease.id, now + leaseMillis)
        holders.set(holder, leases)
        return Either.right(lease)
      }),
    refresh: (lease) =>
      Effect.sync(() => {
        const leases = live(lease.holder, Date.now())
        leases.set(lease.id, Date.now() + leaseMillis)
        holders.set(lease.holder, leases)
      }),
    release: (lease) =>
      Effect.sync(() => {
        holders.get(lease.holder)?.delete(lease.id)
        live(lease.holder, Date.now())
      })
  })
}

export const layer = Layer.sync(StreamLeases, () => make())
