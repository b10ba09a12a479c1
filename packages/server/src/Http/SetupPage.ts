import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import * as SetupTokens from "../Setup/SetupTokens.js"
import { asset, pageHeaders, script } from "./SignInPage.js"

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
    yield* router.get(
      "/setup",
      Effect.map(Effect.orDie(Effect.provideService(SetupTokens.isOpen, SqlClient.SqlClient, sql)), (open) =>
        HttpServerResponse.html(open ? html : closedPage).pipe(
          HttpServerResponse.setStatus(open ? 200 : 410),
          HttpServerResponse.setHeaders(pageHeaders)
        )
      )
    )
    yield* router.get("/setup.js", script("setup.js"))
  })
)
