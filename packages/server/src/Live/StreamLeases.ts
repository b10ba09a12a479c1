import { Context, Data, type Effect, type Either } from "effect"

/** One open stream's place among its holder's: refreshed every tick, released when the stream ends. */
export interface Lease {
  readonly holder: string
  readonly id: string
}

export class StreamLeaseError extends Data.TaggedError("StreamLeaseError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * How long a lease holds without a refresh. A stream refreshes its lease every tick (a second); a lease of a
 * stream whose instance crashed (or whose release never ran) is free again after this long.
 */
export const LEASE_MILLIS = 10_000

/**
 * The open live streams of each holder (an API key, or a user), counted across every instance: at most
 * `limit` leases at once. Redis when configured (a sorted set of lease expiries per holder), memory when not.
 */
export interface StreamLeasesShape {
  /** A new lease, or (Left) the milliseconds until the holder's soonest lease would expire. */
  readonly acquire: (
    holder: string,
    limit: number
  ) => Effect.Effect<Either.Either<Lease, number>, StreamLeaseError>
  /** Keeps the lease for another `LEASE_MILLIS`. */
  readonly refresh: (lease: Lease) => Effect.Effect<void, StreamLeaseError>
  readonly release: (lease: Lease) => Effect.Effect<void, StreamLeaseError>
}

export class StreamLeases extends Context.Tag("@tapline/server/StreamLeases")<
  StreamLeases,
  StreamLeasesShape
>() {}
