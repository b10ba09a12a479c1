import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Path from "node:path"
import { Effect, Layer, Option, Schema, Stream } from "effect"
import type { SecretBoxShape } from "../Crypto/SecretBox.js"
import {
  LinkRefused,
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
  readonly secrets: Pick<SecretBoxShape, "sign" | "verify">
}

const Meta = Schema.parseJson(Schema.Struct({ contentType: Schema.String, size: Schema.Number }))

const PURPOSE = "storage-link"

/** What a link signs: the method, the key, the expiry and the response details it fixes. */
const signed = (method: string, key: string, expires: string, filename: string, contentType: string) =>
  [method, key, expires, filename, contentType].join("\n")

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
      const url = new URL(
        `storage/${key}`,
        options.publicUrl.href.endsWith("/") ? options.publicUrl : `${options.publicUrl.href}/`
      )
      url.searchParams.set("method", method)
      url.searchParams.set("expires", expires)
      if (filename !== "") url.searchParams.set("filename", filename)
      if (contentType !== "") url.searchParams.set("contentType", contentType)
      url.searchParams.set(
        "signature",
        options.secrets.sign(PURPOSE, signed(method, key, expires, filename, contentType))
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
        const signature = query.get("signature") ?? ""
        const valid =
          query.get("method") === method &&
          /^\d{1,12}$/.test(expires) &&
          options.secrets.verify(PURPOSE, signed(method, key, expires, filename, contentType), signature)
        if (!valid)
          return yield* new LinkRefused({ message: "the link is not valid for this object and method" })
        if (Number(expires) * 1000 < Date.now())
          return yield* new LinkRefused({ message: "the link has expired" })
        return { key, filename, contentType }
      })

    return Storage.of({
      provider: "local",
      put,
      get,
      head,
      remove,
      presignGet: (key, presign) => link("GET", key, presign),
      presignPut: (key, presign) => link("PUT", key, presign),
      signedLinks: Option.some({
        /** A signed GET: the object, with the file name the link fixed. */
        read: (rawKey: string, query: URLSearchParams) =>
          Effect.flatMap(check("GET", rawKey, query), ({ filename, key }) =>
            Effect.map(get(key), (content) => ({ ...content, filename }))
          ),
        /** A signed PUT: the body becomes the object, under the content type the link fixed. */
        write: <E>(
          rawKey: string,
          query: URLSearchParams,
          contentType: string,
          body: Stream.Stream<Uint8Array, E>
        ) =>
          Effect.flatMap(check("PUT", rawKey, query), (link) =>
            link.contentType !== "" && link.contentType !== contentType
              ? Effect.fail<LinkRefused | StorageError | E>(
                  new LinkRefused({ message: `this link takes ${link.contentType} only` })
                )
              : put(link.key, body, {
                  contentType: link.contentType || contentType || "application/octet-stream"
                })
          )
      })
    })
  })

export const layer = (options: LocalStorageOptions) => Layer.effect(Storage, make(options))
