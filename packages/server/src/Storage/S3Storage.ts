import { Readable } from "node:stream"
import type { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3"
import { Chunk, Config, Effect, Layer, Option, Redacted, Stream } from "effect"
import { awsKeyPair } from "../Config/AwsKeyPair.js"
import { contentDisposition } from "./ContentDisposition.js"
import {
  type ObjectKey,
  ObjectNotFound,
  Storage,
  StorageError,
  type StorageShape,
  type StoredObject
} from "./Storage.js"

export interface S3StorageOptions {
  readonly bucket: string
  readonly region: string
  /** An S3-compatible service (MinIO, R2, Ceph…); AWS when absent. */
  readonly endpoint: Option.Option<string>
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`; most S3-compatible services need it. */
  readonly forcePathStyle: boolean
  /** Absent: the SDK's default chain (environment, profile, instance role). */
  readonly credentials: Option.Option<{
    readonly accessKeyId: string
    readonly secretAccessKey: Redacted.Redacted
  }>
  /** Attempts per request, the SDK's retry with backoff included. */
  readonly maxAttempts: number
  /** Bodies above this many bytes go up as a multipart upload, in parts of this size (S3's minimum is 5 MiB). */
  readonly multipartThresholdBytes: number
}

/** The request a build-step middleware sees: headers and path are the parts these change. */
const requestOf = (args: { readonly request: unknown }) =>
  args.request as { headers?: Record<string, string>; path?: string }

/** Drops the flexible-checksum headers the SDK adds to a PUT (see presignPut). */
const withoutChecksum = (command: PutObjectCommand) =>
  command.middlewareStack.add(
    (next) => (args) => {
      const headers = requestOf(args).headers ?? {}
      for (const name of Object.keys(headers)) {
        if (/^x-amz-(checksum-|sdk-checksum-algorithm$)/i.test(name)) delete headers[name]
      }
      return next(args)
    },
    { step: "build", priority: "low" }
  )

/**
 * `GET /bucket?list-type=2`, not `/bucket/?…`: both are S3's, and s3rver (the tests' peer) checks the
 * signature of the first form only.
 */
const bucketPathWithoutSlash = (command: ListObjectsV2Command) =>
  command.middlewareStack.add(
    (next) => (args) => {
      const request = requestOf(args)
      if (request.path !== undefined && request.path.length > 1 && request.path.endsWith("/")) {
        request.path = request.path.slice(0, -1)
      }
      return next(args)
    },
    { step: "build" }
  )

/** The AWS SDK's three packages, loaded when S3 is built, not at start: local storage never loads them. */
const loadSdk = Effect.promise(() =>
  Promise.all([
    import("@aws-sdk/client-s3"),
    import("@aws-sdk/lib-storage"),
    import("@aws-sdk/s3-request-presigner")
  ])
)

export const make = (options: S3StorageOptions) =>
  Effect.gen(function* () {
    const [sdk, { Upload }, { getSignedUrl }] = yield* loadSdk
    const {
      AbortMultipartUploadCommand,
      DeleteObjectCommand,
      GetObjectCommand,
      HeadObjectCommand,
      ListObjectsV2Command,
      PutObjectCommand,
      S3Client,
      S3ServiceException
    } = sdk
    const isNotFound = (cause: unknown) =>
      cause instanceof S3ServiceException &&
      (cause.name === "NotFound" || cause.name === "NoSuchKey" || cause.$metadata.httpStatusCode === 404)
    const client = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new S3Client({
            region: options.region,
            forcePathStyle: options.forcePathStyle,
            maxAttempts: options.maxAttempts,
            ...Option.match(options.endpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
            ...Option.match(options.credentials, {
              onNone: () => ({}),
              onSome: ({ accessKeyId, secretAccessKey }) => ({
                credentials: { accessKeyId, secretAccessKey: Redacted.value(secretAccessKey) }
              })
            })
          })
      ),
      (client) => Effect.sync(() => client.destroy())
    )
    const Bucket = options.bucket
    // The SDK's messages name the bucket and key, never the credentials.
    const failure = (operation: string, key: string) => (cause: unknown) =>
      new StorageError({
        provider: "s3",
        operation,
        key,
        message: `${operation} ${key}: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })

    const head = (key: ObjectKey) =>
      Effect.tryPromise({
        try: (signal) => client.send(new HeadObjectCommand({ Bucket, Key: key }), { abortSignal: signal }),
        catch: (cause) => (isNotFound(cause) ? new ObjectNotFound({ key }) : failure("head", key)(cause))
      }).pipe(
        Effect.map((found) =>
          Option.some<StoredObject>({
            key,
            size: found.ContentLength ?? 0,
            contentType: found.ContentType ?? "application/octet-stream"
          })
        ),
        Effect.catchTag("ObjectNotFound", () => Effect.succeedNone),
        Effect.withSpan("Storage.head", { attributes: { "storage.provider": "s3" } })
      )

    const get = (key: ObjectKey) =>
      Effect.tryPromise({
        try: (signal) => client.send(new GetObjectCommand({ Bucket, Key: key }), { abortSignal: signal }),
        catch: (cause) => (isNotFound(cause) ? new ObjectNotFound({ key }) : failure("get", key)(cause))
      }).pipe(
        Effect.map((found) => ({
          key,
          size: found.ContentLength ?? 0,
          contentType: found.ContentType ?? "application/octet-stream",
          stream: Stream.fromAsyncIterable(
            found.Body as Readable & AsyncIterable<Uint8Array>,
            failure("get", key)
          )
        })),
        Effect.withSpan("Storage.get", { attributes: { "storage.provider": "s3" } })
      )

    /**
     * `Upload` sends one PUT for a body that fits in a part and a multipart upload above it (aborted on
     * failure, so no orphaned parts keep costing); the body is pulled from the stream as parts are sent.
     */
    const put: StorageShape["put"] = (key, body, put) =>
      Effect.gen(function* () {
        let size = 0
        const counted = Stream.tap(body, (chunk) => Effect.sync(() => (size += chunk.byteLength)))
        const readable = yield* Stream.toReadableStreamEffect(counted)
        const upload = new Upload({
          client,
          params: {
            Bucket,
            Key: key,
            Body: Readable.fromWeb(readable as never),
            ContentType: put.contentType
          },
          partSize: Math.max(5 * 1024 * 1024, options.multipartThresholdBytes),
          queueSize: 2,
          // Aborted below instead: lib-storage's own abort replaces the upload's error with the abort's.
          leavePartsOnError: true
        })
        // Parts of a failed multipart upload are billed until aborted; if the abort fails too, a bucket
        // lifecycle rule (AbortIncompleteMultipartUpload) is the backstop (docs/INTEGRATIONS.md).
        const abortParts = Effect.suspend(() =>
          upload.uploadId === undefined
            ? Effect.void
            : Effect.tryPromise(() =>
                client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: upload.uploadId }))
              ).pipe(
                Effect.catchAll((error) =>
                  Effect.logWarning("a failed multipart upload could not be aborted").pipe(
                    Effect.annotateLogs({ key, error: String(error.error) })
                  )
                )
              )
        )
        yield* Effect.tryPromise({
          try: () => upload.done(),
          catch: failure("put", key)
        }).pipe(
          Effect.tapError(() => abortParts),
          Effect.onInterrupt(() =>
            Effect.promise(() => upload.abort().catch(() => undefined)).pipe(Effect.zipRight(abortParts))
          )
        )
        return { key, size, contentType: put.contentType } satisfies StoredObject
      }).pipe(Effect.withSpan("Storage.put", { attributes: { "storage.provider": "s3" } }))

    const remove = (key: ObjectKey) =>
      Effect.tryPromise({
        try: (signal) => client.send(new DeleteObjectCommand({ Bucket, Key: key }), { abortSignal: signal }),
        catch: failure("remove", key)
      }).pipe(Effect.asVoid, Effect.withSpan("Storage.remove", { attributes: { "storage.provider": "s3" } }))

    return Storage.of({
      provider: "s3",
      put,
      get,
      head,
      remove,
      presignGet: (key, presign) =>
        Effect.tryPromise({
          try: () =>
            getSignedUrl(
              client,
              new GetObjectCommand({
                Bucket,
                Key: key,
                ...(presign.filename === undefined
                  ? {}
                  : { ResponseContentDisposition: contentDisposition(presign.filename) })
              }),
              { expiresIn: presign.expiresInSeconds }
            ),
          catch: failure("presignGet", key)
        }),
      presignPut: (key, presign) =>
        Effect.tryPromise({
          try: () => {
            const command = new PutObjectCommand({
              Bucket,
              Key: key,
              ...(presign.contentType === undefined ? {} : { ContentType: presign.contentType }),
              ...(presign.contentLength === undefined ? {} : { ContentLength: presign.contentLength })
            })
            // The SDK would sign the CRC32 of the empty body it sees here into the URL, and S3 would refuse
            // every real upload through it (BadDigest); S3 takes no checksum of a presigned body anyway.
            withoutChecksum(command)
            // Type and size signed: S3 refuses a request with another type or another Content-Length (403),
            // so the size a ticket grants is enforced by storage, not counted afterwards.
            return getSignedUrl(client, command, {
              expiresIn: presign.expiresInSeconds,
              signableHeaders: new Set(["content-type", "content-length"])
            })
          },
          catch: failure("presignPut", key)
        }),
      list: (prefix) =>
        Stream.paginateChunkEffect(undefined as string | undefined, (token) =>
          Effect.tryPromise({
            try: (signal) => {
              const command = new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken: token })
              bucketPathWithoutSlash(command)
              return client.send(command, { abortSignal: signal })
            },
            catch: failure("list", prefix)
          }).pipe(
            Effect.map((page) => [
              Chunk.fromIterable(
                (page.Contents ?? []).map((object) => ({
                  key: object.Key ?? "",
                  size: object.Size ?? 0,
                  lastModified: object.LastModified ?? new Date(0)
                }))
              ),
              page.IsTruncated === true && page.NextContinuationToken !== undefined
                ? Option.some(page.NextContinuationToken)
                : Option.none()
            ])
          )
        ),
      signedLinks: Option.none()
    })
  })

export const layer = (options: S3StorageOptions) => Layer.scoped(Storage, make(options))

/** An S3-compatible service's endpoint (MinIO, R2, Ceph…); AWS when unset. The console's CSP names it too. */
export const endpointConfig = Config.option(
  Config.url("STORAGE_S3_ENDPOINT").pipe(Config.map((url) => url.href))
)

export const config = Config.all({
  bucket: Config.option(Config.string("STORAGE_S3_BUCKET")),
  region: Config.string("STORAGE_S3_REGION").pipe(Config.withDefault("us-east-1")),
  endpoint: endpointConfig,
  forcePathStyle: Config.boolean("STORAGE_S3_FORCE_PATH_STYLE").pipe(Config.withDefault(false)),
  maxAttempts: Config.integer().pipe(
    Config.validate({ message: "expected a positive integer", validation: (n) => n > 0 }),
    Config.nested("STORAGE_S3_MAX_ATTEMPTS"),
    Config.withDefault(3)
  ),
  multipartThresholdBytes: Config.integer().pipe(
    Config.validate({ message: "expected a positive integer", validation: (n) => n > 0 }),
    Config.nested("STORAGE_MULTIPART_THRESHOLD_BYTES"),
    Config.withDefault(8 * 1024 * 1024)
  )
})

/** S3 from STORAGE_S3_*: a missing bucket, or half a key pair, stops the start naming the variables. */
export const layerConfig = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { bucket, ...settings } = yield* config
    if (Option.isNone(bucket)) return yield* Effect.dieMessage("STORAGE_PROVIDER=s3 needs STORAGE_S3_BUCKET")
    return layer({ ...settings, bucket: bucket.value, credentials: yield* awsKeyPair("STORAGE_S3") })
  })
)
