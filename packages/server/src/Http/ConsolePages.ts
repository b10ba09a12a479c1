import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { type Config, Effect, Option } from "effect"
import * as StorageConfig from "../Storage/StorageConfig.js"

/** The console's build (`apps/console/dist`), four levels above both `src/Http` and `dist/Http`. */
const ROOT = fileURLToPath(new URL("../../../../apps/console/dist/", import.meta.url))

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2"
}

/**
 * Our own scripts and styles only; no framing. The page talks to this origin, and uploads band files
 * straight to object storage: with S3 that is another origin, named here.
 */
export const pageHeaders = (storage: Config.Config.Success<typeof StorageConfig.uploadTarget>) => {
  const uploads =
    storage.provider === "local"
      ? ""
      : Option.match(storage.endpoint, {
          onNone: () => " https://*.amazonaws.com",
          onSome: (endpoint) => ` ${new URL(endpoint).origin}`
        })
  return {
    "content-security-policy":
      `default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'${uploads}; ` +
      "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer"
  }
}

/** The icon's own name (not hashed): revalidated daily, so a new icon reaches browsers within a day. */
const FAVICON = Path.join(ROOT, "favicon.svg")

/**
 * The brand's icon, at /console/favicon.svg (the page links it) and at /favicon.ico, which browsers ask for on
 * their own: an SVG there rather than a 404 in every log.
 */
const favicon = () => {
  const stat = Fs.statSync(FAVICON, { throwIfNoEntry: false })
  if (stat === undefined) return HttpServerResponse.empty({ status: 204 })
  return HttpServerResponse.raw(Fs.createReadStream(FAVICON), {
    contentType: "image/svg+xml",
    contentLength: stat.size,
    headers: { "cache-control": "public, max-age=86400", "x-content-type-options": "nosniff" }
  })
}

/**
 * The organisers' console at /console/: hashed assets cached for a year (a new build has new names), the
 * page itself revalidated every time so a deploy is seen at once; any other path under /console/ is the page
 * (the app routes in the browser). `/` leads there. Files are piped from disk.
 */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const headers = pageHeaders(yield* StorageConfig.uploadTarget)
    const page = () => {
      const file = Path.join(ROOT, "index.html")
      if (!Fs.existsSync(file)) {
        return HttpServerResponse.text("the console is not built: run `pnpm build`", { status: 404 })
      }
      return HttpServerResponse.raw(Fs.createReadStream(file), {
        contentType: "text/html; charset=utf-8",
        headers: { ...headers, "cache-control": "no-cache" }
      })
    }
    yield* router.get("/", Effect.succeed(HttpServerResponse.redirect("/console/", { status: 302 })))
    yield* router.get("/favicon.ico", Effect.sync(favicon))
    // The router matches "/console" for "/console/" too: only the bare name is sent on to the slash.
    yield* router.get(
      "/console",
      Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
        new URL(request.url, "http://console").pathname === "/console"
          ? HttpServerResponse.redirect("/console/", { status: 302 })
          : page()
      )
    )
    yield* router.get(
      "/console/*",
      Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
        const pathname = decodeURIComponent(new URL(request.url, "http://console").pathname)
        if (pathname === "/console/favicon.svg") return favicon()
        if (!pathname.startsWith("/console/assets/")) return page()
        // Only names the build wrote: no `..`, nothing outside assets/.
        const name = pathname.slice("/console/assets/".length)
        const file = Path.join(ROOT, "assets", name)
        const stat = /^[\w.-]+$/.test(name) ? Fs.statSync(file, { throwIfNoEntry: false }) : undefined
        if (stat === undefined) return HttpServerResponse.text("not found", { status: 404 })
        return HttpServerResponse.raw(Fs.createReadStream(file), {
          contentType: TYPES[Path.extname(name)] ?? "application/octet-stream",
          contentLength: stat.size,
          headers: {
            "cache-control": "public, max-age=31536000, immutable",
            "x-content-type-options": "nosniff"
          }
        })
      })
    )
  })
)
