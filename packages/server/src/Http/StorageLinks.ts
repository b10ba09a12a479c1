import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Data, Effect, Option } from "effect"
import { type LinkRefused, limitBytes, type SignedLinks, Storage } from "../Storage/Storage.js"

/** A signed upload larger than this is refused part-way (413); exports and imports stay far below. */
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024

class UploadTooLarge extends Data.TaggedError("UploadTooLarge")<{ readonly message: string }> {}

const answer = (status: number, tag: string, message: string) =>
  HttpServerResponse.unsafeJson({ _tag: tag, message }, { status })

/** The key and query of `/storage/<key>?…`. */
const linkOf = (request: HttpServerRequest.HttpServerRequest) => {
  const url = new URL(request.url, "http://link")
  return { key: decodeURIComponent(url.pathname.slice("/storage/".length)), query: url.searchParams }
}

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
 * object, a PUT stores the body. S3 serves its own links, so with S3 these routes answer 404.
 */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const storage = yield* Storage
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
                  : { "content-disposition": `attachment; filename="${object.filename}"` })
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
          request.stream,
          MAX_UPLOAD_BYTES,
          () => new UploadTooLarge({ message: `larger than ${MAX_UPLOAD_BYTES} bytes` })
        )
        const contentType = request.headers["content-type"] ?? "application/octet-stream"
        return links.write(key, query, contentType, body).pipe(
          Effect.map((stored) => HttpServerResponse.unsafeJson({ key: stored.key, size: stored.size })),
          Effect.catchTags({
            ...refused,
            UploadTooLarge: (error) => Effect.succeed(answer(413, "Forbidden", error.message)),
            RequestError: () => Effect.succeed(answer(400, "InvalidRequest", "the upload was cut off"))
          })
        )
      })
    )
  })
)
