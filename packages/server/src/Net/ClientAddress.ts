import * as Net from "node:net"

/**
 * The caller's address, one rule for the redirect, the audit log and the rate limits: the rightmost entry of
 * the trusted proxy's header (TAP_CLIENT_IP_HEADER) when it is an IP address, since anything left of it came
 * from the client; otherwise the socket's peer, an IPv4-mapped IPv6 address unwrapped. Null when neither is
 * an address.
 */
export const clientAddress = (
  forwarded: string | undefined | null,
  remoteAddress: string | undefined | null
): string | null => {
  const fromProxy = forwarded?.split(",").pop()?.trim()
  if (fromProxy !== undefined && Net.isIP(fromProxy) !== 0) return fromProxy
  const remote = remoteAddress?.startsWith("::ffff:") ? remoteAddress.slice(7) : remoteAddress
  return remote !== undefined && remote !== null && Net.isIP(remote) !== 0 ? remote : null
}
