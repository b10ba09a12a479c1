import * as Net from "node:net"
import * as Tls from "node:tls"
import { OutboundTimeout, OutboundUnreachable } from "./OutboundErrors.js"
import { bareHost, type OutboundPolicy } from "./OutboundPolicy.js"

export interface ConnectOptions {
  /** TLS over the connection, verified against the host name, which is also sent as SNI. */
  readonly tls?: Omit<Tls.ConnectionOptions, "host" | "port" | "socket" | "servername"> | undefined
  /** For the resolution and the connection together. */
  readonly timeoutMs?: number | undefined
}

const CONNECT_TIMEOUT_MS = 10_000

/**
 * The one way the server opens a connection to a host a tenant or an admin named: resolve the name once
 * (OutboundPolicy.resolve refuses when any address is not public or allowed), then connect to one of those
 * very addresses, in the order the resolver gave them, never resolving again. With `tls`, the handshake
 * names the host (SNI) and the certificate is checked against the host, not the address. HTTP goes through
 * it (OutboundClient's dispatcher); a TCP client (a broker's) calls it directly.
 */
export const connectVetted = async (
  policy: OutboundPolicy,
  host: string,
  port: number,
  options: ConnectOptions = {}
): Promise<Net.Socket> => {
  const name = bareHost(host)
  const deadline = Date.now() + (options.timeoutMs ?? CONNECT_TIMEOUT_MS)
  const addresses = await policy.resolve(name)
  let last: unknown
  for (const { address } of addresses) {
    const left = deadline - Date.now()
    if (left <= 0) break
    try {
      return await dial(address, port, name, options, left)
    } catch (error) {
      last = error
      // A certificate that does not match is an answer, not an unreachable address: no other try.
      if (error instanceof OutboundTimeout || (error as { code?: string }).code?.startsWith("ERR_TLS")) break
    }
  }
  if (last instanceof OutboundTimeout || last === undefined) {
    throw new OutboundTimeout("the connection was not made in time")
  }
  // Node's own error names the address: the cause keeps it for the operator, the message does not.
  throw new OutboundUnreachable("no address took the connection", { cause: last })
}

const dial = (address: string, port: number, name: string, options: ConnectOptions, timeoutMs: number) =>
  new Promise<Net.Socket>((resolve, reject) => {
    const socket =
      options.tls === undefined
        ? Net.connect({ host: address, port })
        : Tls.connect({
            ...options.tls,
            host: address,
            port,
            // SNI takes names only (RFC 6066); an address host is verified as an address.
            ...(Net.isIP(name) === 0 ? { servername: name } : {}),
            checkServerIdentity: (_host, certificate) =>
              (options.tls?.checkServerIdentity ?? Tls.checkServerIdentity)(name, certificate)
          })
    const timer = setTimeout(
      () => socket.destroy(new OutboundTimeout("the connection was not made in time")),
      timeoutMs
    )
    const failed = (error: Error) => {
      clearTimeout(timer)
      reject(error)
    }
    socket.once("error", failed)
    socket.once(options.tls === undefined ? "connect" : "secureConnect", () => {
      clearTimeout(timer)
      socket.removeListener("error", failed)
      resolve(socket)
    })
  })
