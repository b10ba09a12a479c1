import * as Fs from "node:fs"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import * as SetupTokens from "../Setup/SetupTokens.js"

const asset = (name: string) => Fs.readFileSync(new URL(`../../assets/${name}`, import.meta.url), "utf8")

/** As the sign-in page's: our script only, no framing, nothing cached, no referrer (the token is in the URL). */
const headers = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; " +
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

const closedPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><title>Tapline is set up</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem">
<h1>Tapline is already set up</h1>
<p>This setup link is no longer needed. <a href="/sign-in">Sign in</a> instead, or ask a platform admin
for an invitation.</p></body></html>`

/**
 * `/setup`, where a first-run setup link lands (the token in the fragment, read by the page's script). Once
 * any user exists the page answers 410 Gone, saying to sign in instead.
 */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const html = asset("setup.html")
    const script = asset("setup.js")
    yield* router.get(
      "/setup",
      Effect.map(Effect.orDie(Effect.provideService(SetupTokens.isOpen, SqlClient.SqlClient, sql)), (open) =>
        HttpServerResponse.html(open ? html : closedPage).pipe(
          HttpServerResponse.setStatus(open ? 200 : 410),
          HttpServerResponse.setHeaders(headers)
        )
      )
    )
    yield* router.get(
      "/setup.js",
      Effect.succeed(
        HttpServerResponse.text(script, { contentType: "text/javascript; charset=utf-8" }).pipe(
          HttpServerResponse.setHeaders(headers)
        )
      )
    )
  })
)
