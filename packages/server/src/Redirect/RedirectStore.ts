import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Schedule, Stream } from "effect"
import { ReadModelStore } from "../ReadModel/ReadModelStore.js"
import type { BandEntry, OrgSnapshot } from "../ReadModel/Snapshot.js"
import { Warming } from "../ReadModel/Warming.js"

/** How the request names its organisation. */
export type OrgRef =
  | { readonly _tag: "slug"; readonly slug: string }
  | { readonly _tag: "event"; readonly eventId: string }
  | { readonly _tag: "org"; readonly orgId: string }

export interface Lookup {
  readonly org: OrgSnapshot | null
  readonly bands: ReadonlyArray<BandEntry>
}

export interface RedirectStoreShape {
  /**
   * The organisation and the band's entries: synchronously when cached, else a Promise that rejects when the
   * store cannot be reached. Never a fiber per call: this runs for every tap.
   */
  readonly lookup: (ref: OrgRef, bandUid: string) => Lookup | Promise<Lookup>
  /**
   * What this process last knew, however old, for answering while the store is down: bands already known
   * keep redirecting. `bands` is null when this band was never looked up here. `unreachable`: the store
   * could not be read, so entries a change has superseded still answer until their replacement is read;
   * without it (the store answered, but does not have the organisation) they do not.
   */
  readonly stale: (
    ref: OrgRef,
    bandUid: string,
    options?: { readonly unreachable?: boolean }
  ) => { readonly org: OrgSnapshot | null; readonly bands: ReadonlyArray<BandEntry> | null }
  /**
   * Whether a lookup asked at or after `since` (performance.now()) has been answered: then Redis is
   * answering, and a lookup still waiting is held up by this process, not by the store.
   */
  readonly answeredSince: (since: number) => boolean
}

export class RedirectStore extends Context.Tag("@tapline/server/RedirectStore")<
  RedirectStore,
  RedirectStoreShape
>() {}

/** Entries live at most this long even without a change notice: a safety net, not the switching mechanism. */
const MAX_AGE_MS = 60_000
/** How long an unknown organisation name is remembered as unknown. */
const NEGATIVE_MS = 5_000
/** How long a superseded entry may still answer while Redis is down or being rebuilt. */
const STALE_MAX_MS = 15 * 60_000
/** Past this many cached band entries the band cache starts over (a bound against enumeration). */
const MAX_BAND_ENTRIES = 500_000
/** Snapshots read at once while loading every organisation at start. */
const PRELOAD_CONCURRENCY = 32

interface Cached<A> {
  readonly value: A
  /** Fresh until then; kept after that as a fallback for outages, up to STALE_MAX_MS after `at`. */
  until: number
  readonly at: number
  /** A change named its organisation: read again before use, but still the answer while the store is down. */
  superseded?: boolean
}

/**
 * An in-process cache in front of the read model. The change feed drops an organisation's entries the moment
 * any instance projects a change, so an admin change switches every instance within the feed's latency.
 * Window boundaries need no notice at all: the cached snapshot holds the windows and `resolve` compares
 * them with the clock on every tap.
 */
export const make = Effect.gen(function* () {
  const store = yield* ReadModelStore
  const orgIds = new Map<string, Cached<string | null>>()
  const orgs = new Map<string, Cached<OrgSnapshot | null>>()
  const bands = new Map<string, Map<string, Cached<ReadonlyArray<BandEntry>>>>()
  const inflight = new Map<string, Promise<Lookup>>()
  const refreshing = new Set<string>()
  let bandCount = 0
  // Whether the last read of the store failed: superseded entries then answer at once, without a wait.
  let unreachable = false
  // When the most recent lookup that got an answer was asked (performance.now()).
  let lastAnsweredAsk = Number.NEGATIVE_INFINITY
  // Bumped by every invalidation; a fetch that started before one does not store its (maybe stale) answer.
  let generation = 0

  const fresh = <A>(entry: Cached<A> | undefined, now: number): entry is Cached<A> =>
    entry !== undefined && entry.until > now

  const refKey = (ref: OrgRef) =>
    ref._tag === "slug" ? `s:${ref.slug}` : ref._tag === "event" ? `e:${ref.eventId}` : `o:${ref.orgId}`

  /** Past its age an entry still answers once, while a refresh runs in the background. */
  const cachedOrgId = (ref: OrgRef): string | null | undefined =>
    ref._tag === "org" ? ref.orgId : orgIds.get(refKey(ref))?.value

  /*
   * A change naming one organisation is authoritative: its entries (and every name, since a slug may have
   * moved) are read again before the next use. They are marked, not dropped: if Redis goes down before the
   * new projection is read, they are what this process knows. Dropping them (issue 27) turned every known
   * band into an unknown one during an outage: taps went to the website, and past the unknown-band limit
   * got 429.
   */
  const invalidate = (orgId: string) => {
    generation++
    // The change came through the store: it answers again, and the next tap must read the new projection.
    unreachable = false
    for (const entry of orgIds.values()) entry.superseded = true
    const org = orgs.get(orgId)
    if (org !== undefined) org.superseded = true
    for (const entry of bands.get(orgId)?.values() ?? []) entry.superseded = true
  }

  /*
   * "*" (a rebuild, or a feed that lost its place, as when Redis restarted empty) expires everything but keeps
   * it as a fallback: until the read model is back, known bands keep redirecting.
   */
  const invalidateAll = () => {
    generation++
    for (const entry of orgIds.values()) entry.until = 0
    for (const entry of orgs.values()) entry.until = 0
    for (const byUid of bands.values()) for (const entry of byUid.values()) entry.until = 0
  }

  // Spread refreshes out, so entries cached together do not all expire in the same second.
  const expiry = (at: number) => at + MAX_AGE_MS * (0.75 + Math.random() / 2)

  const remember = (
    orgId: string,
    uid: string,
    org: OrgSnapshot | null,
    entries: ReadonlyArray<BandEntry>
  ) => {
    const at = Date.now()
    const until = expiry(at)
    orgs.set(orgId, { value: org, until, at })
    if (bandCount >= MAX_BAND_ENTRIES) {
      bands.clear()
      bandCount = 0
    }
    let byUid = bands.get(orgId)
    if (byUid === undefined) {
      byUid = new Map()
      bands.set(orgId, byUid)
    }
    if (!byUid.has(uid)) bandCount++
    byUid.set(uid, { value: entries, until, at })
  }

  const organizationOf = (ref: OrgRef): Promise<string | null> => {
    switch (ref._tag) {
      case "org":
        return Promise.resolve(ref.orgId)
      case "slug":
        return store.orgIdBySlug(ref.slug)
      case "event":
        return store.orgIdByEvent(ref.eventId)
    }
  }

  /**
   * The organisation a name points to, as far as this process knows it without asking: a rename or deletion
   * reaches it as a change (which supersedes the names), so an aged name is still used, and refreshed behind.
   */
  const knownOrgId = (ref: OrgRef): string | undefined => {
    if (ref._tag === "org") return ref.orgId
    const entry = orgIds.get(refKey(ref))
    if (entry === undefined || entry.superseded || entry.value === null) return undefined
    if (!fresh(entry, Date.now())) refreshName(ref)
    return entry.value
  }

  const refreshName = (ref: OrgRef) => {
    const key = refKey(ref)
    if (refreshing.has(key)) return
    refreshing.add(key)
    const started = generation
    organizationOf(ref)
      .then((orgId) => {
        const now = Date.now()
        if (orgId !== null && started === generation)
          orgIds.set(key, { value: orgId, until: expiry(now), at: now })
      })
      .catch(() => {})
      .finally(() => refreshing.delete(key))
  }

  /*
   * One round trip when the organisation is known (the org snapshot and the band share a hash slot, so one
   * MGET reads both on a Cluster too); two only for a name this process has not seen. Two in a row were what
   * ran past TAP_LOOKUP_TIMEOUT on a fresh, loaded process (issue 27).
   */
  const fetch = async (ref: OrgRef, uid: string): Promise<Lookup> => {
    const known = knownOrgId(ref)
    if (known !== undefined) {
      const started = generation
      const result = await store.orgAndBand(known, uid)
      if (started === generation && result.org !== null) remember(known, uid, result.org, result.bands)
      return result
    }
    return fetchByName(ref, uid)
  }

  const fetchByName = async (ref: OrgRef, uid: string): Promise<Lookup> => {
    const started = generation
    const orgId = await organizationOf(ref)
    const now = Date.now()
    const knownEntry = ref._tag === "org" ? undefined : orgIds.get(refKey(ref))
    const known = knownEntry?.superseded ? undefined : knownEntry?.value
    // A name this process knew is not forgotten on a "no such name": the store may have been flushed and be
    // mid-rebuild (found by the runbook's flush test: taps of a known organisation got 404s). A real rename
    // or deletion reaches this process as a change, which clears the names.
    const forgetting = orgId === null && known !== undefined && known !== null
    if (ref._tag !== "org" && started === generation && !forgetting) {
      // Unknown names are remembered briefly, so probing for them does not cost a round trip each.
      orgIds.set(refKey(ref), {
        value: orgId,
        until: orgId === null ? now + NEGATIVE_MS : expiry(now),
        at: now
      })
    }
    if (orgId === null) return { org: null, bands: [] }
    const result = await store.orgAndBand(orgId, uid)
    // An organisation the store no longer has is not remembered as unknown: the store may be mid-rebuild.
    if (started === generation && result.org !== null) remember(orgId, uid, result.org, result.bands)
    return result
  }

  /** Concurrent misses of one key share one round trip. */
  const load = (ref: OrgRef, uid: string): Promise<Lookup> => {
    const key = `${refKey(ref)}\u0000${uid}`
    let pending = inflight.get(key)
    if (pending === undefined) {
      const asked = performance.now()
      pending = fetch(ref, uid).then(
        (result) => {
          unreachable = false
          if (asked > lastAnsweredAsk) lastAnsweredAsk = asked
          return result
        },
        (error) => {
          unreachable = true
          throw error
        }
      )
      pending = pending.finally(() => inflight.delete(key))
      inflight.set(key, pending)
    }
    return pending
  }

  /*
   * Cached: answer now. Aged (past MAX_AGE, or expired by a "*" notice): answer now from the entry and refresh
   * it in the background, so no tap waits on Redis for a key it has seen. A change naming an organisation
   * removes its entries instead, so after an admin change the next tap always reads the new projection.
   */
  const lookup = (ref: OrgRef, uid: string): Lookup | Promise<Lookup> => {
    const orgIdEntry = ref._tag === "org" ? undefined : orgIds.get(refKey(ref))
    const orgId = cachedOrgId(ref)
    if (orgId === null) {
      return fresh(orgIdEntry, Date.now()) && !orgIdEntry?.superseded
        ? { org: null, bands: [] }
        : load(ref, uid)
    }
    if (orgId !== undefined) {
      const org = orgs.get(orgId)
      const entries = bands.get(orgId)?.get(uid)
      const superseded = orgIdEntry?.superseded || org?.superseded || entries?.superseded
      // Superseded: wait for the new projection, unless the store is down (then it is all there is).
      if (superseded && !unreachable) return load(ref, uid)
      if (org !== undefined && entries !== undefined) {
        const now = Date.now()
        const aged =
          superseded ||
          !fresh(org, now) ||
          !fresh(entries, now) ||
          (orgIdEntry !== undefined && !fresh(orgIdEntry, now))
        if (aged) load(ref, uid).catch(() => {})
        return { org: org.value, bands: entries.value }
      }
    }
    return load(ref, uid)
  }

  const stale = (ref: OrgRef, uid: string, options?: { readonly unreachable?: boolean }) => {
    const now = Date.now()
    const usable = <A>(entry: Cached<A> | undefined): A | undefined =>
      entry !== undefined &&
      now - entry.at < STALE_MAX_MS &&
      (entry.superseded !== true || options?.unreachable === true)
        ? entry.value
        : undefined
    const orgId = ref._tag === "org" ? ref.orgId : usable(orgIds.get(refKey(ref)))
    if (orgId === undefined || orgId === null) return { org: null, bands: null }
    return {
      org: usable(orgs.get(orgId)) ?? null,
      bands: usable(bands.get(orgId)?.get(uid)) ?? null
    }
  }

  const onChange = (change: string) => (change === "*" ? invalidateAll() : invalidate(change))
  // Other instances' changes arrive on the feed; this process's own are heard before the request answers.
  yield* store.changes.pipe(
    Stream.runForEach((change) => Effect.sync(() => onChange(change))),
    Effect.forkScoped
  )
  yield* store.listen(onChange)

  /*
   * Every organisation's snapshot and names, read before readiness says 200: a fresh process's first taps
   * then cost one round trip each (the band), not two in a row. Read again until it succeeds; readiness
   * answers "warming" meanwhile.
   */
  const sql = yield* SqlClient.SqlClient
  const preload = Effect.gen(function* () {
    const ids = yield* sql<{ id: string }>`select id from organizations where deleted_at is null`
    yield* Effect.forEach(
      ids,
      ({ id }) =>
        Effect.gen(function* () {
          const started = generation
          const snapshot = yield* store.org(id)
          if (snapshot === null || started !== generation) return
          const now = Date.now()
          const entry = () => ({ value: snapshot.id, until: expiry(now), at: now })
          if (!orgs.has(snapshot.id)) orgs.set(snapshot.id, { value: snapshot, until: expiry(now), at: now })
          const slug = refKey({ _tag: "slug", slug: snapshot.slug })
          if (!orgIds.has(slug)) orgIds.set(slug, entry())
          for (const event of snapshot.events) {
            const key = refKey({ _tag: "event", eventId: event.id })
            if (!orgIds.has(key)) orgIds.set(key, entry())
          }
        }),
      { concurrency: PRELOAD_CONCURRENCY, discard: true }
    )
    return ids.length
  })
  const warmed = (yield* Warming).begin("redirects")
  yield* preload.pipe(
    Effect.tap((count) =>
      Effect.logDebug("organisations loaded for the redirect").pipe(Effect.annotateLogs({ count }))
    ),
    Effect.tapError((error) =>
      Effect.logWarning("loading organisations for the redirect failed; retrying").pipe(
        Effect.annotateLogs({ error: String(error) })
      )
    ),
    Effect.retry(Schedule.spaced("1 second")),
    Effect.ensuring(warmed),
    Effect.forkScoped
  )

  const answeredSince = (since: number) => lastAnsweredAsk >= since
  return { lookup, stale, answeredSince } satisfies RedirectStoreShape
})

export const layer = Layer.scoped(RedirectStore, make)
