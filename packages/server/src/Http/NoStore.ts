import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"

/*
 * Every admin API answer is someone's data: a new API key or session token shown once, a TOTP seed, a
 * member list, a tenant's analytics. No shared or browser cache may keep it. An answer that set its own
 * Cache-Control (the sign-in page's script, say) keeps it. A pre-response handler, because the server
 * writes the response before an outer middleware would see it, error answers included.
 */
const addNoStore = HttpApp.appendPreResponseHandler((_request, response) =>
  Effect.succeed(
    response.headers["cache-control"] === undefined
      ? HttpServerResponse.setHeader(response, "cache-control", "no-store")
      : response
  )
)

export const noStore = <E, R>(app: HttpApp.Default<E, R>) => Effect.zipRight(addNoStore, app)
