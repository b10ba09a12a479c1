import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"

/** Scalar's API reference, the same viewer `HttpApiScalar` embeds, pinned to its minor version. */
const SCALAR = "https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.39/dist/browser/standalone.min.js"

const page = `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>Tapline API</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" data-url="/api/v1/openapi.json"></script>
    <script src="${SCALAR}" crossorigin></script>
  </body>
</html>`

/**
 * The API reference page at /api/v1/docs. `HttpApiScalar` inlines Scalar's 6 MB script and the OpenAPI
 * document into the page at start, and importing it keeps three copies on the heap (module source, string,
 * page): 20 MB of a process that should stay under 200 MB. This page loads the same viewer from the CDN and
 * reads the document from /api/v1/openapi.json.
 */
export const layer = HttpApiBuilder.Router.use((router) =>
  router.get(
    "/api/v1/docs",
    Effect.succeed(
      HttpServerResponse.html(page).pipe(HttpServerResponse.setHeader("cache-control", "no-cache"))
    )
  )
)
