import { Context, Data, Effect, type Scope, type Stream } from "effect"
import type { BandEntry, OrgSnapshot } from "./Snapshot.js"

export class ReadModelError extends Data.TaggedError("ReadModelError")<{
  readonly operation: string
  readonly message: string
  readonly cause?: unknown
}> {}

/** One organisation's projection, written at once. */
export interface OrganizationProjection {
  readonly snapshot: OrgSnapshot
  /** Every event of the organisation, ACTIVE or not, so the `eventId` URL form finds its organisation. */
  readonly eventIds: ReadonlyArray<string>
}

/** "*" means everything changed (a rebuild). */
export type Change = string | "*"

/**
 * Where the hot path's read model lives: Redis in production, memory in embedded mode. Reads are Promises
 * (the hot path calls them without a fiber); writes and the change feed are Effects for the projector and
 * the cache in front of the reads.
 */
export interface ReadModelStoreShape {
  readonly orgIdBySlug: (slug: string) => Promise<string | null>
  readonly orgIdByEvent: (eventId: string) => Promise<string | null>
  /** The organisation and one band_uid's entries in one round trip. */
  readonly orgAndBand: (
    orgId: string,
    bandUid: string
  ) => Promise<{ readonly org: OrgSnapshot | null; readonly bands: ReadonlyArray<BandEntry> }>

  readonly org: (orgId: string) => Effect.Effect<OrgSnapshot | null, ReadModelError>
  readonly writeOrganization: (projection: OrganizationProjection) => Effect.Effect<void, ReadModelError>
  readonly removeOrganization: (
    orgId: string,
    slug: string | null,
    eventIds: ReadonlyArray<string>
  ) => Effect.Effect<void, ReadModelError>
  /** Forgets purged events: the `eventId` URL form no longer finds their organisation. */
  readonly forgetEvents: (eventIds: ReadonlyArray<string>) => Effect.Effect<void, ReadModelError>
  /** Entries per band_uid; an empty list removes the key. */
  readonly writeBands: (
    orgId: string,
    bands: ReadonlyMap<string, ReadonlyArray<BandEntry>>
  ) => Effect.Effect<void, ReadModelError>
  /** Every band_uid with an entry for the organisation (for rebuilds, which remove what PostgreSQL lost). */
  readonly bandUids: (orgId: string) => Effect.Effect<ReadonlyArray<string>, ReadModelError>
  /** The version each organisation's snapshot was projected from; null where there is none. */
  readonly versions: (
    orgIds: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<number | null>, ReadModelError>
  /** Tells every instance; this process's listeners hear it before `announce` returns. */
  readonly announce: (change: Change) => Effect.Effect<void, ReadModelError>
  /**
   * Hears this process's own announcements synchronously, so a change made by a request is visible to the
   * next request the same process serves, without waiting for the feed to come back around.
   */
  readonly listen: (listener: (change: Change) => void) => Effect.Effect<void, never, Scope.Scope>
  /** Changes announced by any instance from now on; "*" also after a gap the feed cannot cover. */
  readonly changes: Stream.Stream<Change, ReadModelError>
  readonly markRebuilt: Effect.Effect<void, ReadModelError>
  readonly isBuilt: Effect.Effect<boolean, ReadModelError>
}

export class ReadModelStore extends Context.Tag("@tapline/server/ReadModelStore")<
  ReadModelStore,
  ReadModelStoreShape
>() {}

export const Keys = {
  slug: (slug: string) => `rm:slug:${slug}`,
  event: (eventId: string) => `rm:event:${eventId}`,
  // The braces are a Cluster hash tag: one organisation's keys share a slot, so one MGET reads them.
  org: (orgId: string) => `rm:{${orgId}}:org`,
  band: (orgId: string, bandUid: string) => `rm:{${orgId}}:band:${bandUid}`,
  /** The set of an organisation's band_uids: rebuilds find stale keys without scanning the whole keyspace. */
  bandIndex: (orgId: string) => `rm:{${orgId}}:bands`,
  changes: "rm:changes",
  meta: "rm:meta"
} as const

/** Bumped when the layout changes: a store built with another schema is rebuilt in full at start. */
export const READ_MODEL_SCHEMA = 2

/** The listeners of `ReadModelStoreShape.listen`, shared by both stores. */
export const makeListeners = () => {
  const listeners = new Set<(change: Change) => void>()
  return {
    listen: (listener: (change: Change) => void) =>
      Effect.acquireRelease(
        Effect.sync(() => listeners.add(listener)),
        () => Effect.sync(() => listeners.delete(listener))
      ).pipe(Effect.asVoid),
    notify: (change: Change) => {
      for (const listener of listeners) listener(change)
    }
  }
}
