import { Effect, Layer, PubSub, Stream } from "effect"
import { type Change, makeListeners, ReadModelStore, type ReadModelStoreShape } from "./ReadModelStore.js"
import type { BandEntry, OrgSnapshot } from "./Snapshot.js"

/** The read model of a single embedded instance: plain maps, changes on an in-process PubSub. */
export const make = Effect.gen(function* () {
  const slugs = new Map<string, string>()
  const events = new Map<string, string>()
  const orgs = new Map<string, OrgSnapshot>()
  const bands = new Map<string, Map<string, ReadonlyArray<BandEntry>>>()
  const feed = yield* PubSub.unbounded<Change>()
  const listeners = makeListeners()
  let built = false

  const store: ReadModelStoreShape = {
    orgIdBySlug: async (slug) => slugs.get(slug) ?? null,
    orgIdByEvent: async (eventId) => events.get(eventId) ?? null,
    orgAndBand: async (orgId, bandUid) => ({
      org: orgs.get(orgId) ?? null,
      bands: bands.get(orgId)?.get(bandUid) ?? []
    }),
    org: (orgId) => Effect.sync(() => orgs.get(orgId) ?? null),
    writeOrganization: ({ eventIds, snapshot }) =>
      Effect.sync(() => {
        for (const [slug, id] of slugs) if (id === snapshot.id && slug !== snapshot.slug) slugs.delete(slug)
        slugs.set(snapshot.slug, snapshot.id)
        for (const eventId of eventIds) events.set(eventId, snapshot.id)
        orgs.set(snapshot.id, snapshot)
      }),
    removeOrganization: (orgId, slug, eventIds) =>
      Effect.sync(() => {
        if (slug !== null && slugs.get(slug) === orgId) slugs.delete(slug)
        for (const eventId of eventIds) events.delete(eventId)
        orgs.delete(orgId)
        bands.delete(orgId)
      }),
    forgetEvents: (eventIds) =>
      Effect.sync(() => {
        for (const eventId of eventIds) events.delete(eventId)
      }),
    writeBands: (orgId, entries) =>
      Effect.sync(() => {
        let byUid = bands.get(orgId)
        if (byUid === undefined) {
          byUid = new Map()
          bands.set(orgId, byUid)
        }
        for (const [uid, list] of entries) {
          if (list.length === 0) byUid.delete(uid)
          else byUid.set(uid, list)
        }
      }),
    bandUids: (orgId) => Effect.sync(() => [...(bands.get(orgId)?.keys() ?? [])]),
    versions: (orgIds) => Effect.sync(() => orgIds.map((id) => orgs.get(id)?.version ?? null)),
    announce: (change) =>
      PubSub.publish(feed, change).pipe(
        Effect.zipRight(Effect.sync(() => listeners.notify(change))),
        Effect.asVoid
      ),
    listen: listeners.listen,
    changes: Stream.fromPubSub(feed),
    markRebuilt: Effect.sync(() => {
      built = true
    }),
    isBuilt: Effect.sync(() => built)
  }
  return store
})

export const layer = Layer.effect(ReadModelStore, make)
