import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { TaplineApi } from "@tapline/domain"
import { Effect, ParseResult } from "effect"

/** The session's CSRF token: a cookie the page may read, echoed on every change (the API checks it). */
export const csrfToken = () => {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("tapline_csrf="))
  return cookie === undefined ? "" : decodeURIComponent(cookie.slice("tapline_csrf=".length))
}

/**
 * The admin API's typed client, derived from the contract in @tapline/domain: the console never writes a
 * route or a payload by hand. Same origin, so the session cookie goes along.
 */
const makeClient = HttpApiClient.make(TaplineApi, {
  baseUrl: window.location.origin,
  transformClient: HttpClient.mapRequest((request) =>
    HttpClientRequest.setHeader(request, "x-csrf-token", csrfToken())
  )
})

export type Client = Effect.Effect.Success<typeof makeClient>

/** Runs one call against the API; the promise rejects with the API's typed error itself. */
export const call = <A, E>(f: (client: Client) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(
    Effect.either(Effect.flatMap(makeClient, f)).pipe(Effect.provide(FetchHttpClient.layer))
  ).then((result) => (result._tag === "Right" ? result.right : Promise.reject(result.left)))

/** The kind of an API error (`Unauthorized`, `NotFound`, …), or null for anything else. */
export const tagOf = (error: unknown): string | null =>
  typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string"
    ? (error as { _tag: string })._tag
    : null

/** Said for a refused value where no form names the field: the schema's own text never reaches the page. */
export const REFUSED_VALUE = "A value was refused: check what you typed and try again."

/** What the API said, in words: a tagged error's message, or its kind. */
export const describe = (error: unknown): string => {
  if (ParseResult.isParseError(error) || tagOf(error) === "HttpApiDecodeError") return REFUSED_VALUE
  const message = (error as { message?: unknown })?.message
  if (typeof message === "string" && message.length > 0) return message
  return tagOf(error) ?? String(error)
}

/**
 * The URL of an endpoint the browser opens itself rather than through the client: the live stream
 * (EventSource) and CSV downloads (a link). The path comes from the contract, so it cannot drift from the API.
 */
export const endpointUrl = (
  group: keyof typeof TaplineApi.groups & string,
  endpoint: string,
  params: Readonly<Record<string, string>>,
  query: Readonly<Record<string, string | undefined>> = {}
): string => {
  const found = (
    TaplineApi.groups[group] as unknown as { endpoints: Record<string, { path: string }> } | undefined
  )?.endpoints[endpoint]
  if (found === undefined) throw new Error(`no endpoint ${group}.${endpoint} in the contract`)
  const path = found.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ""))
  const search = new URLSearchParams(
    Object.entries(query).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ""
    )
  ).toString()
  return search === "" ? path : `${path}?${search}`
}
