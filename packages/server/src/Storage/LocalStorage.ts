import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Path from "node:path"
import { Config, Effect, Layer, Option, Schema, Stream } from "effect"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import * as SecretBox from "../Crypto/SecretBox.js"
import {
  BodySizeRefused,
  LinkRefused,
  type LinkUpload,
  type ListedObject,
  limitBytes,
  type ObjectContent,
  ObjectKey,
  ObjectNotFound,
  type PresignOptions,
  Storage,
  StorageError,
  type StorageShape,
  type StoredObject
} from "./Storage.js"

export interface LocalStorageOptions {
  /** The folder objects live in (STORAGE_LOCAL_DIR, else `storage` in the data folder). */
  readonly root: string
  /** Where browsers reach Tapline: links point at `<publicUrl>/storage/<key>`. */
  readonly publicUrl: URL
  readonly secrets: Pick<SecretBox.SecretBoxShape, "sign" | "verify">
}

const Meta = Schema.parseJson(Schema.Struct({ contentType: Schema.String, size: Schema.Number }))

const PURPOSE = "storage-link"

/** What a link signs: the method, the key, the expiry and the details it fixes (name, type, size). */
const signed = (fields: {
  readonly method: string
  readonly key: string
  readonly expires: string
  readonly filename: string
  readonly contentType: string
  readonly size: string
}) => [fields.method, fields.key, fields.expires, fields.filename, fields.contentType, fields.size].join("\n")

/** The body, failing as soon as it passes `size` bytes and when it ends short of them. */
const exactly = <E>(body: Stream.Stream<Uint8Array, E>, size: number) =>
  Stream.suspend(() => {
    let received = 0
    const counted = limitBytes(
      Stream.tap(body, (chunk) => Effect.sync(() => (received += chunk.byteLength))),
      size,
      () => new BodySizeRefused({ tooLarge: true, message: `this link takes ${size} bytes, no more` })
    )
    const short = Stream.suspend(() =>
      received === size
        ? Stream.empty
        : Stream.fail(
            new BodySizeRefused({
              tooLarge: false,
              message: `this link takes ${size} bytes; ${received} came`
            })
          )
    )
    return Stream.concat(counted, short)
  })

/** Prefixes a listing may name: whole segments under `org/`, nothing that climbs. */
const LISTABLE = /^org\/([0-9a-f-]{36}\/([A-Za-z0-9][A-Za-z0-9._-]{0,199}\/)*)?$/

export const make = (options: LocalStorageOptions) =>
  Effect.gen(function* () {
    const objects = Path.resolve(options.root, "objects")
    const meta = Path.resolve(options.root, "meta")
    const drafts = Path.resolve(options.root, "drafts")
    const failure = (operation: string, key: string) => (cause: unknown) =>
      new StorageError({
        provider: "local",
        operation,
        key,
        message: `${operation} ${key}: ${(cause as Error).message}`,
        cause
      })
    yield* Effect.tryPromise({
      try: () =>
        Promise.all([objects, meta, drafts].map((dir) => FsPromises.mkdir(dir, { recursive: true }))),
      catch: failure("open", options.root)
    })

    const head = (key: ObjectKey) =>
      Effect.tryPromise({
        try: async () => {
          try {
            const text = await FsPromises.readFile(Path.join(meta, `${key}.json`), "utf8")
            const { contentType, size } = Schema.decodeUnknownSync(Meta)(text)
            return Option.some<StoredObject>({ key, size, contentType })
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOENT") return Option.none<StoredObject>()
            throw error
          }
        },
        catch: failure("head", key)
      })

    const get = (key: ObjectKey): Effect.Effect<ObjectContent, StorageError | ObjectNotFound> =>
      Effect.flatMap(head(key), (found) =>
        Option.match(found, {
          onNone: () => Effect.fail(new ObjectNotFound({ key })),
          onSome: (object) =>
            Effect.succeed({
              ...object,
              stream: Stream.fromAsyncIterable(
                Fs.createReadStream(Path.join(objects, key)) as AsyncIterable<Uint8Array>,
                failure("get", key)
              )
            })
        })
      )

    /**
     * Written to a draft and renamed into place, data before metadata: a reader sees the old object or the
     * new one, never half of one, and a crash leaves only a draft behind.
     */
    const put: StorageShape["put"] = (key, body, put) =>
      Effect.gen(function* () {
        const draft = Path.join(drafts, randomBytes(12).toString("hex"))
        const file = yield* Effect.acquireRelease(
          Effect.tryPromise({ try: () => FsPromises.open(draft, "w", 0o600), catch: failure("put", key) }),
          (handle) => Effect.promise(() => handle.close().catch(() => undefined))
        )
        let size = 0
        yield* Stream.runForEach(body, (chunk) => {
          size += chunk.byteLength
          return Effect.tryPromise({ try: () => file.write(chunk), catch: failure("put", key) })
        }).pipe(Effect.tapErrorCause(() => Effect.promise(() => FsPromises.rm(draft, { force: true }))))
        yield* Effect.tryPromise({
          try: async () => {
            await file.sync()
            await FsPromises.mkdir(Path.dirname(Path.join(objects, key)), { recursive: true })
            await FsPromises.mkdir(Path.dirname(Path.join(meta, key)), { recursive: true })
            await FsPromises.rename(draft, Path.join(objects, key))
            await FsPromises.writeFile(
              Path.join(meta, `${key}.json`),
              JSON.stringify({ contentType: put.contentType, size })
            )
          },
          catch: failure("put", key)
        })
        return { key, size, contentType: put.contentType } satisfies StoredObject
      }).pipe(Effect.scoped)

    const remove = (key: ObjectKey) =>
      Effect.tryPromise({
        try: () =>
          Promise.all([
            FsPromises.rm(Path.join(meta, `${key}.json`), { force: true }),
            FsPromises.rm(Path.join(objects, key), { force: true })
          ]),
        catch: failure("remove", key)
      }).pipe(Effect.asVoid)

    const link = (method: "GET" | "PUT", key: ObjectKey, presign: PresignOptions) => {
      const expires = String(Math.floor(Date.now() / 1000) + presign.expiresInSeconds)
      const filename = presign.filename ?? ""
      const contentType = presign.contentType ?? ""
      const size = presign.contentLength === undefined ? "" : String(presign.contentLength)
      const url = new URL(
        `storage/${key}`,
        options.publicUrl.href.endsWith("/") ? options.publicUrl : `${options.publicUrl.href}/`
      )
      url.searchParams.set("method", method)
      url.searchParams.set("expires", expires)
      if (filename !== "") url.searchParams.set("filename", filename)
      if (contentType !== "") url.searchParams.set("contentType", contentType)
      if (size !== "") url.searchParams.set("size", size)
      url.searchParams.set(
        "signature",
        options.secrets.sign(PURPOSE, signed({ method, key, expires, filename, contentType, size }))
      )
      return Effect.succeed(url.href)
    }

    /** Checks a link this instance signed: method, key, expiry and the details it fixed. */
    const check = (method: "GET" | "PUT", rawKey: string, query: URLSearchParams) =>
      Effect.gen(function* () {
        const key = yield* Schema.decodeUnknown(ObjectKey)(rawKey).pipe(
          Effect.mapError(() => new LinkRefused({ message: "not a storage key" }))
        )
        const expires = query.get("expires") ?? ""
        const filename = query.get("filename") ?? ""
        const contentType = query.get("contentType") ?? ""
        const size = query.get("size") ?? ""
        const signature = query.get("signature") ?? ""
        const valid =
          query.get("method") === method &&
          /^\d{1,12}$/.test(expires) &&
          /^(\d{1,15})?$/.test(size) &&
          options.secrets.verify(
            PURPOSE,
            signed({ method, key, expires, filename, contentType, size }),
            signature
          )
        if (!valid)
          return yield* new LinkRefused({ message: "the link is not valid for this object and method" })
        if (Number(expires) * 1000 < Date.now())
          return yield* new LinkRefused({ message: "the link has expired" })
        return { key, filename, contentType, size: size === "" ? undefined : Number(size) }
      })

    /** Every object file under the prefix's folder, read in one go: the local folder serves one instance. */
    const list = (prefix: string): Stream.Stream<ListedObject, StorageError> =>
      Stream.unwrap(
        Effect.tryPromise({
          try: async () => {
            if (!LISTABLE.test(prefix)) throw new Error("not a listable prefix")
            const folder = Path.join(objects, prefix)
            const names = await FsPromises.readdir(folder, { recursive: true }).catch(
              (error: NodeJS.ErrnoException) => {
                if (error.code === "ENOENT") return []
                throw error
              }
            )
            const found: Array<ListedObject> = []
            for (const name of names) {
              const stat = await FsPromises.stat(Path.join(folder, name)).catch(() => null)
              if (stat?.isFile()) {
                const key = `${prefix}${name.split(Path.sep).join("/")}`
                found.push({ key, size: stat.size, lastModified: stat.mtime })
              }
            }
            return Stream.fromIterable(found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))
          },
          catch: failure("list", prefix)
        })
      )

    return Storage.of({
      provider: "local",
      put,
      get,
      head,
      remove,
      presignGet: (key, presign) => link("GET", key, presign),
      presignPut: (key, presign) => link("PUT", key, presign),
      list,
      signedLinks: Option.some({
        /** A signed GET: the object, with the file name the link fixed. */
        read: (rawKey: string, query: URLSearchParams) =>
          Effect.flatMap(check("GET", rawKey, query), ({ filename, key }) =>
            Effect.map(get(key), (content) => ({ ...content, filename }))
          ),
        /**
         * A signed PUT: the body becomes the object, under the type and of the size the link fixed. A body
         * declared larger is refused unread; one that grows past the size is cut off there. Either way the
         * draft goes and nothing is stored.
         */
        write: <E, E2>(
          rawKey: string,
          query: URLSearchParams,
          upload: LinkUpload<E>,
          admits: (key: ObjectKey) => Effect.Effect<boolean, E2>
        ): Effect.Effect<StoredObject, LinkRefused | BodySizeRefused | StorageError | E | E2> =>
          Effect.gen(function* () {
            const link = yield* check("PUT", rawKey, query)
            if (link.contentType !== "" && link.contentType !== upload.contentType) {
              return yield* new LinkRefused({ message: `this link takes ${link.contentType} only` })
            }
            if (
              link.size !== undefined &&
              upload.contentLength !== undefined &&
              upload.contentLength !== link.size
            ) {
              return yield* new BodySizeRefused({
                tooLarge: upload.contentLength > link.size,
                message: `this link takes exactly ${link.size} bytes, not ${upload.contentLength}`
              })
            }
            if (!(yield* admits(link.key))) {
              return yield* new LinkRefused({ message: "this link has been used or withdrawn" })
            }
            return yield* put(
              link.key,
              link.size === undefined ? upload.body : exactly(upload.body, link.size),
              { contentType: link.contentType || upload.contentType || "application/octet-stream" }
            )
          })
      })
    })
  })

export const layer = (options: LocalStorageOptions) => Layer.effect(Storage, make(options))

export const config = Config.all({
  /** Unset: `storage` in TAPLINE_DATA_DIR. */
  localDir: Config.option(Config.string("STORAGE_LOCAL_DIR"))
})

/** A folder on this machine (one instance), its links signed with the encryption keys. */
export const layerConfig = Layer.unwrapEffect(
  Effect.gen(function* () {
    const app = yield* AppConfig
    const { localDir } = yield* config
    const root = Option.getOrElse(localDir, () => Path.join(app.embedded.dataDir, "storage"))
    const secrets = yield* SecretBox.SecretBox
    return layer({ root, publicUrl: publicOrigin(app), secrets })
  })
).pipe(Layer.provide(SecretBox.layer))
