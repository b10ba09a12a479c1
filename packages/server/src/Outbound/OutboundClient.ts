import { Agent, fetch as undiciFetch } from "undici"
import { connectVetted } from "./OutboundConnect.js"
import { routeGlobalFetch } from "./OutboundFetch.js"
import type { OutboundPolicy } from "./OutboundPolicy.js"

/**
 * HTTP to URLs a tenant or an admin gave (webhook and chat endpoints, OIDC discovery, token, JWKS and
 * userinfo endpoints). Every connection, redirects' included, is opened by `connectVetted`: the address
 * dialled is the address checked.
 */
export interface OutboundClient {
  readonly fetch: typeof globalThis.fetch
  /**
   * Runs `work` with Node's own `fetch` going through this client's connections, for libraries that take no
   * fetch of their own (arctic's token requests).
   */
  readonly around: <A>(work: () => Promise<A>) => Promise<A>
}

export const make = (policy: OutboundPolicy): OutboundClient => {
  const dispatcher = new Agent({
    connect: (options, callback) => {
      const https = options.protocol === "https:"
      connectVetted(policy, options.hostname, Number(options.port) || (https ? 443 : 80), {
        tls: https ? { ALPNProtocols: ["http/1.1"] } : undefined
      }).then(
        (socket) => {
          socket.setNoDelay(true).setKeepAlive(true, 60_000)
          callback(null, socket)
        },
        (error: Error) => callback(error, null)
      )
    }
  })
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = policy.target(input instanceof Request ? input.url : String(input))
    return undiciFetch(url, { ...(init as object), dispatcher })
  }) as typeof globalThis.fetch
  return { fetch, around: (work) => routeGlobalFetch(dispatcher, work) }
}

/**
 * For URLs the operator configured (ALERT_CHANNELS, email providers): no policy, as the operator could reach
 * those addresses anyway, and an alert channel on the private network is legitimate.
 */
export const direct: OutboundClient = {
  fetch: (input, init) => globalThis.fetch(input, init),
  around: (work) => work()
}
