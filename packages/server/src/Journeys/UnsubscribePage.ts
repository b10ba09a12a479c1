import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Layer } from "effect"
import { Unsubscribes } from "./Unsubscribe.js"

/** No script at all, no framing (a button someone could be tricked into), nothing cached, no referrer (the token). */
const pageHeaders = {
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

const page = (title: string, body: string, status = 200) =>
  HttpServerResponse.text(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
      `<title>${title}</title></head><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">` +
      `<h1>${title}</h1>${body}</body></html>`,
    { status, contentType: "text/html; charset=utf-8" }
  ).pipe(HttpServerResponse.setHeaders(pageHeaders))

const gone = page(
  "Link not valid",
  "<p>This unsubscribe link is not valid, or its address was removed.</p>",
  404
)
const done = page("Unsubscribed", "<p>You will get no more of these emails.</p>")

/**
 * `/u/<token>`, the List-Unsubscribe link of a journey's email. POST is the one-click unsubscribe of RFC 8058
 * (mail clients post `List-Unsubscribe=One-Click`); GET only shows a page with a button that posts, because
 * link scanners open every link in a mail and must not unsubscribe anyone.
 */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const unsubscribes = yield* Unsubscribes
    const token = Effect.map(HttpRouter.params, (params) => params.token ?? "")
    yield* router.get(
      "/u/:token",
      Effect.gen(function* () {
        if (!(yield* Effect.orDie(unsubscribes.known(yield* token)))) return gone
        return page(
          "Unsubscribe",
          `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">` +
            `<button type="submit">Unsubscribe from these emails</button></form>`
        )
      })
    )
    yield* router.post(
      "/u/:token",
      Effect.map(Effect.orDie(Effect.flatMap(token, unsubscribes.withdraw)), (withdrawn) =>
        withdrawn ? done : gone
      )
    )
  })
).pipe(Layer.provide(Unsubscribes.Default))
