import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Data, Effect, Layer, Option } from "effect"
import { contentDisposition } from "../Storage/ContentDisposition.js"
import { type LinkRefused, limitBytes, type SignedLinks, Storage } from "../Storage/Storage.js"
import { UploadRepository } from "../Uploads/UploadRepository.js"
import { uploadLinkAdmits } from "../Uploads/Uploads.js"

/** A signed upload with no size of its own is refused past this (413); every upload ticket fixes a size. */
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024

class UploadTooLarge extends Data.TaggedError("UploadTooLarge")<{ readonly message: string }> {}
class UploadCutOff extends Data.TaggedError("UploadCutOff")<{ readonly cause: unknown }> {}

const answer = (status: number, tag: string, message: string) =>
  HttpServerResponse.unsafeJson({ _tag: tag, message }, { status })

/** The key and query of `/storage/<key>?…`. */
const linkOf = (request: HttpServerRequest.HttpServerRequest) => {
  const url = new URL(request.url, "http://link")
  return { key: decodeURIComponent(url.pathname.slice("/storage/".length)), query: url.searchParams }
}

/** The request's Content-Length, when it sent one that reads as a length. */
const declaredLength = (request: HttpServerRequest.HttpServerRequest) => {
  const header = request.headers["content-length"]
  return header !== undefined && /^\d{1,15}$/.test(header) ? Number(header) : undefined
}

/**
 * The upload's bytes as they arrive. Not `request.stream`: that one destroys the request when its reader
 * stops early, and with it the connection the 413 must go back on.
 */
const bodyOf = (request: HttpServerRequest.HttpServerRequest) =>
  NodeStream.fromReadable<UploadCutOff, Uint8Array>(
    () => NodeHttpServerRequest.toIncomingMessage(request),
    (cause) => new UploadCutOff({ cause }),
    { closeOnDone: false }
  )

/** A refused upload's answer closes the connection: the rest of its body is not worth reading. */
const refusedUpload = (status: number, tag: string, message: string) =>
  HttpServerResponse.setHeader(answer(status, tag, message), "connection", "close")

/** Storage failed under a request: the log says what, the caller is told to retry (Logos.ts answers alike). */
export const storageUnavailable = (what: string) => (error: { readonly message: string }) =>
  Effect.as(
    Effect.logError(`${what} failed; the caller is told to retry`).pipe(
      Effect.annotateLogs({ error: error.message })
    ),
    answer(503, "ServiceUnavailable", "storage is unavailable; retry later")
  )

const refused = {
  LinkRefused: (error: LinkRefused) => Effect.succeed(answer(403, "Forbidden", error.message)),
  StorageError: storageUnavailable("storage link")
}

/**
 * The links of the local-folder provider (`/storage/<key>?method=&expires=&signature=`): a GET streams the
 * object, a PUT stores the body, of the type and size the link fixes and while the upload ticket behind it
 * is live. S3 serves its own links, so with S3 these routes answer 404.
 */
const routes = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const uploads = yield* UploadRepository
    const admits = (key: string) =>
      uploadLinkAdmits(key).pipe(Effect.provideService(UploadRepository, uploads))
    /** A route that needs the provider's links; 404 where the provider serves its own. */
    const withLinks = (
      handle: (
        links: SignedLinks,
        link: ReturnType<typeof linkOf>,
        request: HttpServerRequest.HttpServerRequest
      ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
    ) =>
      Option.match(storage.signedLinks, {
        onNone: () => Effect.succeed(answer(404, "NotFound", "this server does not serve storage links")),
        onSome: (links) =>
          Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
            handle(links, linkOf(request), request)
          )
      })
    yield* router.get(
      "/storage/*",
      withLinks((links, { key, query }) =>
        links.read(key, query).pipe(
          Effect.map((object) =>
            HttpServerResponse.stream(object.stream, {
              contentType: object.contentType,
              contentLength: object.size,
              headers: {
                "cache-control": "private, no-store",
                "x-content-type-options": "nosniff",
                ...(object.filename === ""
                  ? {}
                  : { "content-disposition": contentDisposition(object.filename) })
              }
            })
          ),
          Effect.catchTags({
            ...refused,
            ObjectNotFound: () => Effect.succeed(answer(404, "NotFound", "no such object"))
          })
        )
      )
    )
    yield* router.put(
      "/storage/*",
      withLinks((links, { key, query }, request) => {
        const body = limitBytes(
          bodyOf(request),
          MAX_UPLOAD_BYTES,
          () => new UploadTooLarge({ message: `larger than ${MAX_UPLOAD_BYTES} bytes` })
        )
        const upload = {
          contentType: request.headers["content-type"],
          contentLength: declaredLength(request),
          body
        }
        return links.write(key, query, upload, admits).pipe(
          Effect.map((stored) => HttpServerResponse.unsafeJson({ key: stored.key, size: stored.size })),
          Effect.catchTags({
            LinkRefused: (error) => Effect.succeed(refusedUpload(403, "Forbidden", error.message)),
            StorageError: storageUnavailable("storage link"),
            BodySizeRefused: (error) =>
              Effect.succeed(
                error.tooLarge
                  ? refusedUpload(413, "PayloadTooLarge", error.message)
                  : refusedUpload(400, "InvalidRequest", error.message)
              ),
            UploadTooLarge: (error) => Effect.succeed(refusedUpload(413, "PayloadTooLarge", error.message)),
            UploadCutOff: () =>
              Effect.succeed(refusedUpload(400, "InvalidRequest", "the upload was cut off")),
            SqlError: storageUnavailable("storage link ticket check")
          })
        )
      })
    )
  })
)

export const layer = routes.pipe(Layer.provide(UploadRepository.Default))
