const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1")

interface DispatchOptions {
  readonly origin?: string | URL
  readonly headers?: Record<string, string> | Array<string> | null
}
interface Dispatcher {
  dispatch(options: DispatchOptions, handler: unknown): boolean
}

/**
 * Routes requests for fixed hosts (Google's, which arctic hard-codes) to a local server, for every `fetch`
 * of this process: the server under test and the test itself. The local server sees the original Host and
 * `x-forwarded-proto: https`, as behind a TLS-terminating proxy. It wraps the dispatcher of Node's own fetch
 * (whichever undici it is). Returns a function that switches the routing off.
 */
export const routeHosts = async (hosts: ReadonlyArray<string>, target: string): Promise<() => void> => {
  let active = true
  // Node creates its global dispatcher lazily, on the first request.
  await fetch("http://127.0.0.1:9/").catch(() => undefined)
  const registry = globalThis as unknown as Record<symbol, Dispatcher>
  const original = registry[GLOBAL_DISPATCHER]
  if (original === undefined) throw new Error("Node's fetch has no global dispatcher")
  const routed = new Proxy(original, {
    get(dispatcher, property, receiver) {
      if (property !== "dispatch") return Reflect.get(dispatcher, property, receiver)
      return (options: DispatchOptions, handler: unknown) => {
        const origin = new URL(String(options.origin))
        if (!active || !hosts.includes(origin.host)) return dispatcher.dispatch(options, handler)
        const extra = { host: origin.host, "x-forwarded-proto": "https" }
        const headers = Array.isArray(options.headers)
          ? [...options.headers, ...Object.entries(extra).flat()]
          : { ...options.headers, ...extra }
        return dispatcher.dispatch({ ...options, origin: target, headers }, handler)
      }
    }
  })
  registry[GLOBAL_DISPATCHER] = routed
  // Others may have wrapped it since: routing is switched off rather than the dispatcher swapped back.
  return () => {
    active = false
  }
}
