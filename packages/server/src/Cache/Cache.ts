import { Context, Data, type Duration, type Effect, type Option } from "effect"

export class CacheError extends Data.TaggedError("CacheError")<{
  readonly operation: string
  readonly message: string
  readonly cause?: unknown
}> {}

export interface SetOptions {
  /** Without it the value lives until deleted. */
  readonly ttl?: Duration.DurationInput
}

/**
 * Small shared state: single-use challenges, counters for rate limits, short-lived lookups.
 * Failures are `CacheError`, never an empty answer: an outage must not read as "not found".
 */
export interface CacheShape {
  readonly get: (key: string) => Effect.Effect<Option.Option<string>, CacheError>
  readonly getMany: (
    keys: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Option.Option<string>>, CacheError>
  readonly set: (key: string, value: string, options?: SetOptions) => Effect.Effect<void, CacheError>
  /** True when this call stored the value, false when the key already held one. */
  readonly setIfAbsent: (
    key: string,
    value: string,
    options?: SetOptions
  ) => Effect.Effect<boolean, CacheError>
  /** Reads and removes in one step: exactly one of several concurrent callers gets the value. */
  readonly take: (key: string) => Effect.Effect<Option.Option<string>, CacheError>
  readonly delete: (key: string) => Effect.Effect<boolean, CacheError>
  /** Atomic add; the TTL applies when the counter is created and is not extended by later increments. */
  readonly increment: (
    key: string,
    options?: { readonly by?: number; readonly ttl?: Duration.DurationInput }
  ) => Effect.Effect<number, CacheError>
  /** Remaining lifetime, none when the key is missing or has no expiry. */
  readonly ttl: (key: string) => Effect.Effect<Option.Option<Duration.Duration>, CacheError>
  readonly ping: Effect.Effect<void, CacheError>
}

export class Cache extends Context.Tag("@tapline/server/Cache")<Cache, CacheShape>() {}
