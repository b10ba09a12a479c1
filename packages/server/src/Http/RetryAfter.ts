import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"

/*
 * A 429 of the admin API says in its body when to retry (`TooManyRequests.retryAfterSeconds`); clients and
 * proxies read the standard `Retry-After` header, so it carries the same number. A pre-response handler, as
 * for Cache-Control (NoStore.ts), because error answers are written before an outer middleware sees them.
 */
const addRetryAfter = HttpApp.appendPreResponseHandler((_request, response) => {
  if (response.status !== 429 || response.headers["retry-after"] !== undefined)
    return Effect.succeed(response)
  if (response.body._tag !== "Uint8Array") return Effect.succeed(response)
  try {
    const { retryAfterSeconds } = JSON.parse(new TextDecoder().decode(response.body.body)) as {
      retryAfterSeconds?: unknown
    }
    return Effect.succeed(
      typeof retryAfterSeconds === "number" && Number.isInteger(retryAfterSeconds) && retryAfterSeconds > 0
        ? HttpServerResponse.setHeader(response, "retry-after", String(retryAfterSeconds))
        : response
    )
  } catch {
    return Effect.succeed(response)
  }
})

export const retryAfter = <E, R>(app: HttpApp.Default<E, R>) => Effect.zipRight(addRetryAfter, app)
