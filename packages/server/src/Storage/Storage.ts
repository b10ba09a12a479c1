import { Context, Data, Effect, type Option, Schema, Stream } from "effect"

export class StorageError extends Data.TaggedError("StorageError")<{
  readonly provider: string
  readonly operation: string
  readonly key: string
  readonly message: string
  readonly cause?: unknown
}> {}

export class ObjectNotFound extends Data.TaggedError("ObjectNotFound")<{ readonly key: string }> {}

/**
 * Where an object lives: `org/<organisation id>/<segment>/…`. Only `organizationKey` makes one, so every object
 * belongs to exactly one organisation and no caller-supplied text can climb out of it (`..`, `/`, control
 * characters are refused per segment).
 */
export const ObjectKey = Schema.String.pipe(
  Schema.pattern(/^org\/[0-9a-f-]{36}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,199})+$/),
  Schema.filter((key) => !key.split("/").includes("..")),
  Schema.brand("ObjectKey")
)
export type ObjectKey = typeof ObjectKey.Type

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/

/** The key of an organisation's object; throws on a segment that is not a plain file name (a bug, not input). */
export const organizationKey = (organizationId: string, ...segments: ReadonlyArray<string>): ObjectKey => {
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment === "..") throw new Error(`not a storage key segment: ${segment}`)
  }
  return ObjectKey.make(`org/${organizationId}/${segments.join("/")}`)
}

export interface StoredObject {
  readonly key: ObjectKey
  readonly size: number
  readonly contentType: string
}

export interface ObjectContent extends StoredObject {
  readonly stream: Stream.Stream<Uint8Array, StorageError>
}

/** An object as a listing shows it. */
export interface ListedObject {
  readonly key: string
  readonly size: number
  readonly lastModified: Date
}

export interface PresignOptions {
  readonly expiresInSeconds: number
  /** GET: the name a browser saves the download under. */
  readonly filename?: string
  /** PUT: the type the uploader must send. */
  readonly contentType?: string
  /** PUT: the exact number of bytes the link takes; storage itself refuses any other size. */
  readonly contentLength?: number
}

/** Why a signed link was refused; the HTTP route answers 403 with this text. */
export class LinkRefused extends Data.TaggedError("LinkRefused")<{ readonly message: string }> {}

/** A body larger than its link grants (413; reading stops there) or one that ended short of it (400). */
export class BodySizeRefused extends Data.TaggedError("BodySizeRefused")<{
  readonly tooLarge: boolean
  readonly message: string
}> {}

/** A PUT to a signed link, as the HTTP route received it. */
export interface LinkUpload<E> {
  /** Absent when the request named none. */
  readonly contentType: string | undefined
  /** The request's Content-Length; absent for a chunked body. */
  readonly contentLength: number | undefined
  readonly body: Stream.Stream<Uint8Array, E>
}

/** Links to a provider that cannot serve them itself (the local folder): Tapline checks and serves them. */
export interface SignedLinks {
  readonly read: (
    key: string,
    query: URLSearchParams
  ) => Effect.Effect<
    ObjectContent & { readonly filename: string },
    LinkRefused | ObjectNotFound | StorageError
  >
  /**
   * Stores the upload if the link is valid, the type and size are those it fixes, and `admits` the key (a
   * link cannot be recalled, so whoever issued it says whether it still may write).
   */
  readonly write: <E, E2>(
    key: string,
    query: URLSearchParams,
    upload: LinkUpload<E>,
    admits: (key: ObjectKey) => Effect.Effect<boolean, E2>
  ) => Effect.Effect<StoredObject, LinkRefused | BodySizeRefused | StorageError | E | E2>
}

/**
 * Object storage behind one interface, one small module per provider (S3 and S3-compatible, local folder),
 * chosen by STORAGE_PROVIDER. Bodies are streams both ways: an export of millions of rows never sits in memory.
 */
export class Storage extends Context.Tag("@tapline/server/Storage")<
  Storage,
  {
    readonly provider: "s3" | "local"
    readonly put: <E>(
      key: ObjectKey,
      body: Stream.Stream<Uint8Array, E>,
      options: { readonly contentType: string }
    ) => Effect.Effect<StoredObject, StorageError | E>
    readonly get: (key: ObjectKey) => Effect.Effect<ObjectContent, StorageError | ObjectNotFound>
    readonly head: (key: ObjectKey) => Effect.Effect<Option.Option<StoredObject>, StorageError>
    /** Removing what is not there succeeds: expiry may run twice. */
    readonly remove: (key: ObjectKey) => Effect.Effect<void, StorageError>
    /** A URL that reads the object without credentials until it expires. */
    readonly presignGet: (key: ObjectKey, options: PresignOptions) => Effect.Effect<string, StorageError>
    /** A URL that writes the object without credentials until it expires. */
    readonly presignPut: (key: ObjectKey, options: PresignOptions) => Effect.Effect<string, StorageError>
    /** The objects whose key starts with `prefix`, in key order, a page at a time. */
    readonly list: (prefix: string) => Stream.Stream<ListedObject, StorageError>
    /** Some for the local folder, whose links `/storage/<key>` serves; None where the provider serves them. */
    readonly signedLinks: Option.Option<SignedLinks>
  }
>() {}

export type StorageShape = Context.Tag.Service<Storage>

/** The stream, failing with `tooLarge()` as soon as more than `maxBytes` went through (counted per run). */
export const limitBytes = <E, E2>(
  stream: Stream.Stream<Uint8Array, E>,
  maxBytes: number,
  tooLarge: () => E2
) =>
  Stream.suspend(() => {
    let received = 0
    return Stream.mapEffect(stream, (chunk): Effect.Effect<Uint8Array, E2> => {
      received += chunk.byteLength
      return received > maxBytes ? Effect.fail(tooLarge()) : Effect.succeed(chunk)
    })
  })
