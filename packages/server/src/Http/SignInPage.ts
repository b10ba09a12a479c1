import * as Fs from "node:fs"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"

/** The page and its script sit in `assets/`, two levels above both `src/Http` and `dist/Http`. */
export const asset = (name: string) =>
  Fs.readFileSync(new URL(`../../assets/${name}`, import.meta.url), "utf8")

/**
 * Only our own script runs; no framing (clickjacking of the sign-in buttons); nothing cached; no referrer
 * (the setup page's token and an email sign-in's are in the URL fragment). The setup page is served the same way.
 */
export const pageHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; " +
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

/** One of the pages' scripts, read once, served with the pages' headers. */
export const script = (name: string) => {
  const body = asset(name)
  return Effect.sync(() =>
    HttpServerResponse.text(body, { contentType: "text/javascript; charset=utf-8" }).pipe(
      HttpServerResponse.setHeaders(pageHeaders)
    )
  )
}

/**
 * The sign-in page, served by the API on its own origin: provider buttons, passkey sign-in and registration,
 * the TOTP prompt and invitation acceptance. Plain HTML and one small script; the web console grows from it.
 */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const html = asset("sign-in.html")
    yield* router.get(
      "/sign-in",
      Effect.succeed(HttpServerResponse.html(html).pipe(HttpServerResponse.setHeaders(pageHeaders)))
    )
    yield* router.get("/sign-in.js", script("sign-in.js"))
    // What the sign-in and setup pages' scripts share.
    yield* router.get("/page.js", script("page.js"))
  })
)
