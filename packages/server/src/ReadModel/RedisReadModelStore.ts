import { Chunk, Effect, Layer, Stream } from "effect"
import { Cluster } from "ioredis"
import type { BandEntry, OrgSnapshot } from "../Redirect/Snapshot.js"
import { keyPrefixOf, Redis, type RedisConnection } from "../Redis/Redis.js"
import {
  type Change,
  Keys,
  READ_MODEL_SCHEMA,
  ReadModelError,
  ReadModelStore,
  type ReadModelStoreShape
} from "./ReadModelStore.js"

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

/** SCAN does not apply ioredis' key prefix to its pattern, nor strip it from results: do both here. */
const scanKeys = async (client: RedisConnection, pattern: string): Promise<ReadonlyArray<string>> => {
  const prefix = keyPrefixOf(client)
  const nodes = client instanceof Cluster ? client.nodes("master") : [client]
  const found: Array<string> = []
  for (const node of nodes) {
    const stream = node.scanStream({ match: `${prefix}${pattern}`, count: 1000 })
    for await (const keys of stream as AsyncIterable<Array<string>>) {
      for (const key of keys) found.push(key.slice(prefix.length))
    }
  }
  return found
}

export const make = Effect.gen(function* () {
  const client = yield* Redis

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
          [Keys.org(orgId), null]
        ])
      }),
    // One organisation's band keys share a hash slot, so MSET and multi-key DEL are safe on a cluster too.
    writeBands: (orgId, bands) =>
      run("writeBands", async () => {
        const sets: Array<string> = []
        const deletes: Array<string> = []
        for (const [uid, list] of bands) {
          const key = Keys.band(orgId, uid)
          if (list.length === 0) deletes.push(key)
          else sets.push(key, JSON.stringify(list))
        }
        const pending: Array<Promise<unknown>> = []
        for (let i = 0; i < sets.length; i += 2 * WRITE_CHUNK) {
          pending.push(client.mset(...sets.slice(i, i + 2 * WRITE_CHUNK)))
        }
        for (let i = 0; i < deletes.length; i += WRITE_CHUNK) {
          pending.push(client.del(...deletes.slice(i, i + WRITE_CHUNK)))
        }
        await Promise.all(pending)
      }),
    bandUids: (orgId) =>
      run("bandUids", () => scanKeys(client, Keys.bandPattern(orgId))).pipe(
        Effect.map((keys) => keys.map((key) => key.slice(Keys.band(orgId, "").length)))
      ),
    versions: (orgIds) =>
      run("versions", () => Promise.all(orgIds.map((id) => client.get(Keys.org(id))))).pipe(
        Effect.map((values) => values.map((value) => parse<OrgSnapshot>(value)?.version ?? null))
      ),
    announce: (change) =>
      run("announce", () =>
        client.xadd(Keys.changes, "MAXLEN", "~", CHANGE_FEED_LENGTH, "*", "org", change)
      ).pipe(Effect.asVoid),
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
