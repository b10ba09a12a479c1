import { Context, Data, type Effect, type Scope } from "effect"
import type { TapRecord } from "./TapRecord.js"

export class TapQueueError extends Data.TaggedError("TapQueueError")<{
  readonly operation: string
  readonly message: string
  readonly cause?: unknown
}> {}

export interface Delivery {
  readonly ids: ReadonlyArray<string>
  readonly taps: ReadonlyArray<TapRecord>
  /** Entries that could not be decoded; acknowledged and logged, never retried forever. */
  readonly malformed: number
}

export interface PipelineHealth {
  readonly streamLength: number
  /** Entries not yet delivered to any writer. */
  readonly lag: number
  /** Delivered but not yet acknowledged. */
  readonly pending: number
  readonly oldestPendingMs: number | null
  /** Age of the oldest tap not yet stored (read or not); null when every tap is stored. */
  readonly oldestUnstoredMs: number | null
  readonly consumers: number
}

/** The PostgreSQL writer's consumer group; every other group is a sink's (`TapSink`). */
export const WRITER_GROUP = "writers"

/**
 * One consumer group's side of the pipeline: a Redis Stream consumer group, or an in-process queue when
 * embedded. Every group gets every tap; each takes, claims and acknowledges its own.
 */
export interface TapQueueShape {
  /** Waits up to about a second for new entries; an empty delivery when there are none. */
  readonly take: (max: number) => Effect.Effect<Delivery, TapQueueError>
  /** Entries another writer took and left unacknowledged for longer than `idleMs`. */
  readonly claim: (idleMs: number, max: number) => Effect.Effect<Delivery, TapQueueError>
  readonly ack: (ids: ReadonlyArray<string>) => Effect.Effect<void, TapQueueError>
  /**
   * Drops entries every registered group has acknowledged, keeping at most TAP_STREAM_MAX_ENTRIES for a slow
   * sink: past that the sink's oldest entries go and it is marked behind. Never one the writers have not.
   */
  readonly trim: Effect.Effect<number, TapQueueError>
  readonly health: Effect.Effect<PipelineHealth, TapQueueError>
  /**
   * At a graceful stop, after this writer's last batch: entries it still holds (a batch it could not store)
   * are handed back, claimable by another writer at once rather than after TAP_CLAIM_IDLE; holding none, it
   * leaves the group. `handedBack` is how many it held.
   */
  readonly release: Effect.Effect<{ readonly handedBack: number }, TapQueueError>
  /** Removes the group's consumers idle longer than `idleMs` that hold nothing (writers gone for good). */
  readonly forgetIdle: (idleMs: number) => Effect.Effect<number, TapQueueError>
}

/** The PostgreSQL writer's queue: the `writers` group. */
export class TapQueue extends Context.Tag("@tapline/server/TapQueue")<TapQueue, TapQueueShape>() {}

/**
 * The queue of any group, for a sink. Making it registers the group (a consumer group on the stream, or one
 * in memory): from then on trimming keeps what the group has not acknowledged, within the cap.
 */
export interface TapQueuesShape {
  readonly forGroup: (group: string) => Effect.Effect<TapQueueShape, TapQueueError, Scope.Scope>
}

export class TapQueues extends Context.Tag("@tapline/server/TapQueues")<TapQueues, TapQueuesShape>() {}
