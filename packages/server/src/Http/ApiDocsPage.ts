import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"

/**
 * Scalar's API reference viewer, the one `HttpApiScalar` embeds, written to `dist/static` by the build from
 * the copy inside @effect/platform (scripts/extract-api-reference.mjs). Two levels above both `src/Http` and
 * `dist/Http`.
 */
const VIEWER = fileURLToPath(new URL("../../dist/static/api-reference.js", import.meta.url))
const VIEWER_PATH = "/api/v1/docs/api-reference.js"

/*
 * Measured in Chromium with the network cut (test/ApiDocs.browser.test.ts): the viewer compiles WebAssembly
 * it carries inline ('wasm-unsafe-eval', not 'unsafe-eval'), Vue sets style attributes and <style> elements
 * ('unsafe-inline' styles only), and it fetches the document from here. Its default fonts come from
 * fonts.scalar.com, so they are off (the system's fonts are used); nothing else is needed.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'unsafe-inline'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Tapline API</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <p id="document-link">
      The contract as OpenAPI 3.1: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>
    </p>
    <noscript>The interactive reference needs JavaScript; the document above has everything it shows.</noscript>
    <script
      id="api-reference"
      data-url="/api/v1/openapi.json"
      data-configuration='{"withDefaultFonts":false}'
    ></script>
    <script src="${VIEWER_PATH}"></script>
  </body>
</html>`

/**
 * The API reference page at /api/v1/docs, working without the internet: the viewer's 3 MB script is streamed
 * from disk at each request (importing `HttpApiScalar` kept three copies of it on the heap, 20 MB of a process
 * that should stay under 200 MB; a CDN needs the internet). The link to the document stays visible if the
 * script fails.
 */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.all([
    router.get(
      "/api/v1/docs",
      Effect.succeed(
        HttpServerResponse.html(page).pipe(
          HttpServerResponse.setHeaders({
            "cache-control": "no-cache",
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "x-content-type-options": "nosniff"
          })
        )
      )
    ),
    router.get(
      VIEWER_PATH,
      Effect.sync(() => {
        const stat = Fs.statSync(VIEWER, { throwIfNoEntry: false })
        if (stat === undefined) {
          return HttpServerResponse.text("the API reference viewer is missing: run `pnpm build`", {
            status: 404
          })
        }
        // A Node stream the platform pipes to the socket: the file never passes through an Effect Stream.
        return HttpServerResponse.raw(Fs.createReadStream(VIEWER), {
          contentType: "text/javascript; charset=utf-8",
          contentLength: stat.size,
          // Same file until the next build; revalidated by its Last-Modified after a day.
          headers: {
            "cache-control": "public, max-age=86400",
            "last-modified": stat.mtime.toUTCString(),
            "x-content-type-options": "nosniff"
          }
        })
      })
    )
  ])
)
