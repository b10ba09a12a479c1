import { AsyncLocalStorage } from "node:async_hooks"
import { Effect, Layer } from "effect"
import { getGlobalDispatcher } from "undici"

const INSTALLED = Symbol.for("@tapline/server/OutboundFetch")
const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1")

// biome-ignore lint/suspicious/noExplicitAny: undici's own and Node's bundled one have different option types
type Dispatch = (options: any, handler: any) => boolean

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

/** Runtimes in this process that hold the layer: the fix applies while there is at least one. */
let holders = 0

/** The dispatcher Node's own fetch uses inside `routeGlobalFetch`, for the calls made within it only. */
const routed = new AsyncLocalStorage<{ dispatch: Dispatch }>()

/**
 * Runs `work` with every request of Node's own `fetch` made within it (and only within it: the store follows
 * the async calls `work` makes) sent through `dispatcher`. arctic takes no fetch or dispatcher, so this is how
 * its token requests go through the outbound policy's connections.
 */
export const routeGlobalFetch = <A>(
  dispatcher: { dispatch: Dispatch },
  work: () => Promise<A>
): Promise<A> => {
  install()
  return routed.run(dispatcher, work)
}

/**
 * Outbound `fetch` that works with arctic. Importing `@effect/platform-node` loads npm undici 7, which installs
 * its Agent as the dispatcher of Node's own `fetch`. Node 20's `fetch` adds a Content-Length to one a caller
 * set (arctic sets it for Reddit), undici 7 refuses the resulting "n, n", and every OAuth token request fails.
 * The fix wraps the dispatcher of Node's own `fetch` (arctic takes no fetch of its own, so it has to be that
 * one) to collapse the duplicate; found by the OAuth tests, not in theory.
 *
 * As a layer, so a runtime says it needs it and holds it for its lifetime: the wrapper is installed once per
 * process and passes requests through untouched when no runtime holds it. It is never swapped back out,
 * because something else (a test's host routing) may have wrapped it since.
 */
export const layer = Layer.scopedDiscard(
  Effect.acquireRelease(
    Effect.sync(() => {
      install()
      holders++
    }),
    () => Effect.sync(() => void holders--)
  )
)

const install = () => {
  const registry = globalThis as unknown as Record<symbol, unknown>
  if (registry[INSTALLED] === true) return
  const current = getGlobalDispatcher() as unknown as { dispatch: Dispatch }
  registry[GLOBAL_DISPATCHER] = new Proxy(current, {
    get(dispatcher, property, receiver) {
      if (property !== "dispatch") return Reflect.get(dispatcher, property, receiver)
      return (options: { headers?: unknown }, handler: unknown) =>
        (routed.getStore() ?? dispatcher).dispatch(
          holders > 0 ? { ...options, headers: collapseContentLength(options.headers) } : options,
          handler
        )
    }
  })
  registry[INSTALLED] = true
}
