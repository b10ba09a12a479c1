import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { LOGO_PATH } from "../Organizations/OrganizationLogo.js"
import { organizationKey, Storage } from "../Storage/Storage.js"
import { storageUnavailable } from "./StorageLinks.js"

const notFound = HttpServerResponse.unsafeJson({ _tag: "NotFound", message: "no such logo" }, { status: 404 })

/**
 * Organisations' logos, public as any logo on a web page is: `/logos/<organisation id>/<file>` reads only the
 * organisation's `logo/` objects. The file name is the upload's id, so a new logo is a new URL and each one can
 * be cached for a year.
 */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    yield* router.get(
      "/logos/*",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const match = LOGO_PATH.exec(new URL(request.url, "http://logo").pathname)
        if (match === null) return notFound
        const object = yield* storage
          .get(organizationKey(match[1]!, "logo", match[2]!))
          .pipe(Effect.catchTag("ObjectNotFound", () => Effect.succeed(null)))
        if (object === null) return notFound
        return HttpServerResponse.stream(object.stream, {
          contentType: object.contentType,
          contentLength: object.size,
          headers: {
            "cache-control": "public, max-age=31536000, immutable",
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'"
          }
        })
      }).pipe(Effect.catchTag("StorageError", storageUnavailable("logo read")))
    )
  })
)
