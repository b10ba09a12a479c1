import { getGlobalDispatcher } from "undici"

const INSTALLED = Symbol.for("@tapline/server/OutboundFetch")
const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1")

type Dispatch = (options: { headers?: unknown }, handler: unknown) => boolean

/** "3, 3" → "3": the same length said twice is one length. Anything else is left for undici to judge. */
const collapseContentLength = (headers: unknown) => {
  if (headers === null || typeof headers !== "object" || Array.isArray(headers)) return headers
  // A Request's own headers keep the caller's spelling (`Content-Length`).
  const name = Object.keys(headers).find((key) => key.toLowerCase() === "content-length")
  const value = name === undefined ? undefined : (headers as Record<string, unknown>)[name]
  if (typeof value !== "string" || !value.includes(",")) return headers
  const lengths = value.split(",").map((part) => part.trim())
  return lengths.every((length) => length === lengths[0])
    ? { ...(headers as Record<string, unknown>), [name!]: lengths[0] }
    : headers
}

/**
 * Outbound `fetch` that works with arctic. Importing `@effect/platform-node` loads npm undici 7, which installs
 * its Agent as the dispatcher of Node's own `fetch`. Node 20's `fetch` adds a Content-Length to one a caller
 * set (arctic sets it for Reddit), undici 7 refuses the resulting "n, n", and every OAuth token request fails.
 * This wraps the global dispatcher once to collapse the duplicate; found by the OAuth tests, not in theory.
 */
export const install = () => {
  const registry = globalThis as unknown as Record<symbol, unknown>
  if (registry[INSTALLED] === true) return
  const current = getGlobalDispatcher() as unknown as { dispatch: Dispatch }
  registry[GLOBAL_DISPATCHER] = new Proxy(current, {
    get(dispatcher, property, receiver) {
      if (property !== "dispatch") return Reflect.get(dispatcher, property, receiver)
      return (options: { headers?: unknown }, handler: unknown) =>
        dispatcher.dispatch({ ...options, headers: collapseContentLength(options.headers) }, handler)
    }
  })
  registry[INSTALLED] = true
}
