import { Chunk, Effect, Layer, Stream } from "effect"
import { Redis } from "../Redis/Redis.js"
import {
  type Change,
  Keys,
  makeListeners,
  READ_MODEL_SCHEMA,
  ReadModelError,
  ReadModelStore,
  type ReadModelStoreShape
} from "./ReadModelStore.js"
import type { BandEntry, OrgSnapshot } from "./Snapshot.js"

const CHANGE_FEED_LENGTH = 10_000
const WRITE_CHUNK = 5_000

const parse = <A>(value: string | null): A | null => {
  if (value === null) return null
  try {
    return JSON.parse(value) as A
  } catch {
    return null
  }
}

export const make = Effect.gen(function* () {
  const client = yield* Redis
  const listeners = makeListeners()

  const run = <A>(operation: string, f: () => Promise<A>) =>
    Effect.tryPromise({
      try: f,
      catch: (cause) =>
        new ReadModelError({
          operation,
          message: cause instanceof Error ? cause.message : String(cause),
          cause
        })
    })

  const setAll = (entries: ReadonlyArray<readonly [string, string | null]>) =>
    run("write", async () => {
      for (let i = 0; i < entries.length; i += WRITE_CHUNK) {
        await Promise.all(
          entries
            .slice(i, i + WRITE_CHUNK)
            .map(([key, value]) => (value === null ? client.del(key) : client.set(key, value)))
        )
      }
    })

  // A blocking XREAD holds its connection, so the change feed gets one of its own.
  const feedClient = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const duplicate = client.duplicate()
      duplicate.on("error", () => {})
      return duplicate
    }),
    (duplicate) => Effect.sync(() => duplicate.disconnect())
  )

  /*
   * Reads the change feed from the moment of subscription. After any error the position may be stale or the
   * feed trimmed past it, so the reader announces "*" (drop everything) and resumes from the newest entry.
   */
  const changes = Stream.unwrap(
    Effect.sync(() => {
      let lastId = "$"
      const readOnce = Effect.tryPromise(
        () =>
          feedClient.xread("COUNT", 1000, "BLOCK", 2000, "STREAMS", Keys.changes, lastId) as Promise<Array<
            [string, Array<[string, Array<string>]>]
          > | null>
      ).pipe(
        Effect.map((reply) => {
          const entries = reply?.[0]?.[1] ?? []
          const out: Array<Change> = []
          for (const [id, fields] of entries) {
            lastId = id
            out.push(fields[1] ?? "*")
          }
          return Chunk.fromIterable(out)
        }),
        Effect.catchAll(() =>
          Effect.sleep("500 millis").pipe(
            Effect.zipRight(
              Effect.sync(() => {
                lastId = "$"
                return Chunk.of<Change>("*")
              })
            )
          )
        )
      )
      return Stream.repeatEffectChunk(readOnce)
    })
  )

  const store: ReadModelStoreShape = {
    orgIdBySlug: (slug) => client.get(Keys.slug(slug)),
    orgIdByEvent: (eventId) => client.get(Keys.event(eventId)),
    orgAndBand: async (orgId, bandUid) => {
      const [org, bands] = await client.mget(Keys.org(orgId), Keys.band(orgId, bandUid))
      return {
        org: parse<OrgSnapshot>(org ?? null),
        bands: parse<ReadonlyArray<BandEntry>>(bands ?? null) ?? []
      }
    },
    org: (orgId) =>
      run("org", () => client.get(Keys.org(orgId))).pipe(Effect.map((v) => parse<OrgSnapshot>(v))),
    writeOrganization: ({ eventIds, snapshot }) =>
      Effect.gen(function* () {
        const previous = yield* store.org(snapshot.id)
        yield* setAll([
          ...(previous !== null && previous.slug !== snapshot.slug
            ? [[Keys.slug(previous.slug), null] as const]
            : []),
          [Keys.slug(snapshot.slug), snapshot.id],
          ...eventIds.map((eventId) => [Keys.event(eventId), snapshot.id] as const),
          [Keys.org(snapshot.id), JSON.stringify(snapshot)]
        ])
      }),
    removeOrganization: (orgId, slug, eventIds) =>
      Effect.gen(function* () {
        const uids = yield* store.bandUids(orgId)
        yield* setAll([
          ...(slug === null ? [] : [[Keys.slug(slug), null] as const]),
          ...eventIds.map((eventId) => [Keys.event(eventId), null] as const),
          ...uids.map((uid) => [Keys.band(orgId, uid), null] as const),
          [Keys.bandIndex(orgId), null],
          [Keys.org(orgId), null]
        ])
      }),
    forgetEvents: (eventIds) => setAll(eventIds.map((eventId) => [Keys.event(eventId), null] as const)),
    // One organisation's band keys share a hash slot, so MSET and multi-key DEL are safe on a cluster too.
    writeBands: (orgId, bands) =>
      run("writeBands", async () => {
        const sets: Array<string> = []
        const present: Array<string> = []
        const deletes: Array<string> = []
        const absent: Array<string> = []
        for (const [uid, list] of bands) {
          const key = Keys.band(orgId, uid)
          if (list.length === 0) {
            deletes.push(key)
            absent.push(uid)
          } else {
            sets.push(key, JSON.stringify(list))
            present.push(uid)
          }
        }
        const index = Keys.bandIndex(orgId)
        const pending: Array<Promise<unknown>> = []
        for (let i = 0; i < present.length; i += WRITE_CHUNK) {
          pending.push(client.mset(...sets.slice(2 * i, 2 * (i + WRITE_CHUNK))))
          pending.push(client.sadd(index, ...present.slice(i, i + WRITE_CHUNK)))
        }
        for (let i = 0; i < absent.length; i += WRITE_CHUNK) {
          pending.push(client.del(...deletes.slice(i, i + WRITE_CHUNK)))
          pending.push(client.srem(index, ...absent.slice(i, i + WRITE_CHUNK)))
        }
        await Promise.all(pending)
      }),
    bandUids: (orgId) =>
      run("bandUids", async () => {
        const uids: Array<string> = []
        for await (const page of client.sscanStream(Keys.bandIndex(orgId), { count: 1000 }) as AsyncIterable<
          Array<string>
        >) {
          uids.push(...page)
        }
        return uids
      }),
    versions: (orgIds) =>
      run("versions", () => Promise.all(orgIds.map((id) => client.get(Keys.org(id))))).pipe(
        Effect.map((values) => values.map((value) => parse<OrgSnapshot>(value)?.version ?? null))
      ),
    announce: (change) =>
      run("announce", () =>
        client.xadd(Keys.changes, "MAXLEN", "~", CHANGE_FEED_LENGTH, "*", "org", change)
      ).pipe(Effect.ensuring(Effect.sync(() => listeners.notify(change))), Effect.asVoid),
    listen: listeners.listen,
    changes,
    markRebuilt: run("markRebuilt", () =>
      client.set(
        Keys.meta,
        JSON.stringify({ schema: READ_MODEL_SCHEMA, rebuiltAt: new Date().toISOString() })
      )
    ).pipe(Effect.asVoid),
    isBuilt: run("isBuilt", () => client.get(Keys.meta)).pipe(
      Effect.map((value) => parse<{ schema: number }>(value)?.schema === READ_MODEL_SCHEMA)
    )
  }
  return store
})

export const layer = Layer.scoped(ReadModelStore, make)
