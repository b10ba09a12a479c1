import * as Dns from "node:dns/promises"
import * as Net from "node:net"

/*
 * Server-side requests to URLs an admin typed (an OIDC issuer and what its discovery document names; webhook
 * endpoints later) must not reach what only the server can reach: loopback, private networks, link-local
 * addresses (169.254.169.254 is the cloud metadata service) and the like. Each such URL is checked before
 * the request: http(s) only, and every address its host resolves to must be public unless OUTBOUND_ALLOW
 * names the host, the address or its network. The check resolves the name itself; a name that changes its
 * answer between the check and the request (DNS rebinding) is not covered, which the short TTL of a check
 * per request keeps to the milliseconds between the two.
 */

export class OutboundRefused extends Error {
  readonly _tag = "OutboundRefused"
}

const BLOCKED: ReadonlyArray<readonly [string, number, "ipv4" | "ipv6"]> = [
  ["0.0.0.0", 8, "ipv4"], // "this network"
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"], // carrier-grade NAT
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"], // link-local, cloud metadata
  ["172.16.0.0", 12, "ipv4"],
  ["192.0.0.0", 24, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["198.18.0.0", 15, "ipv4"], // benchmarking
  ["224.0.0.0", 4, "ipv4"], // multicast
  ["240.0.0.0", 4, "ipv4"], // reserved, broadcast
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
  ["fc00::", 7, "ipv6"], // unique local (AWS's fd00:ec2::254 metadata too)
  ["fe80::", 10, "ipv6"],
  ["ff00::", 8, "ipv6"]
]

const blockList = new Net.BlockList()
for (const [network, prefix, family] of BLOCKED) blockList.addSubnet(network, prefix, family)

/** The IPv4 address inside an IPv4-mapped IPv6 one (::ffff:10.0.0.1), which reaches the same host. */
const unmapped = (address: string): string => {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return match === null ? address : match[1]!
}

export const isPublicAddress = (address: string): boolean => {
  const plain = unmapped(address)
  const family = Net.isIPv4(plain) ? "ipv4" : Net.isIPv6(plain) ? "ipv6" : null
  return family !== null && !blockList.check(plain, family)
}

export interface OutboundPolicy {
  /** The URL, parsed, when a server-side request to it is allowed; rejects with OutboundRefused otherwise. */
  readonly vet: (url: string) => Promise<URL>
}

const LOOKUP_TIMEOUT_MS = 3_000

/**
 * `allow`: host names (exact, lower case), addresses, or networks in CIDR notation (`10.1.0.0/16`). Tests
 * name their loopback peers here; production names an internal identity provider, if it has one.
 */
export const make = (allow: ReadonlyArray<string>): OutboundPolicy => {
  const hosts = new Set<string>()
  const allowed = new Net.BlockList()
  for (const entry of allow.map((e) => e.trim().toLowerCase()).filter((e) => e.length > 0)) {
    const [network, prefix] = entry.split("/")
    const bare = network!.replace(/^\[|\]$/g, "")
    const family = Net.isIPv4(bare) ? "ipv4" : Net.isIPv6(bare) ? "ipv6" : null
    if (family === null) hosts.add(entry)
    else if (prefix === undefined) allowed.addAddress(bare, family)
    else allowed.addSubnet(bare, Number(prefix), family)
  }
  const addressAllowed = (address: string) => {
    const plain = unmapped(address)
    const family = Net.isIPv4(plain) ? "ipv4" : "ipv6"
    return isPublicAddress(plain) || allowed.check(plain, family)
  }

  const vet = async (text: string): Promise<URL> => {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new OutboundRefused(`not a URL: ${text.slice(0, 200)}`)
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new OutboundRefused(`only http(s) URLs are fetched, not ${url.protocol}`)
    }
    const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase()
    if (hosts.has(host)) return url
    const addresses = Net.isIP(host)
      ? [host]
      : await Promise.race([
          Dns.lookup(host, { all: true, verbatim: true }).then((found) => found.map((a) => a.address)),
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new OutboundRefused(`${host} did not resolve in time`)),
              LOOKUP_TIMEOUT_MS
            ).unref()
          )
        ]).catch((error: unknown) => {
          throw error instanceof OutboundRefused ? error : new OutboundRefused(`${host} does not resolve`)
        })
    const refused = addresses.filter((address) => !addressAllowed(address))
    if (refused.length > 0) {
      throw new OutboundRefused(
        `${host} resolves to ${refused.join(", ")}, a loopback, private or link-local address (OUTBOUND_ALLOW can name it)`
      )
    }
    return url
  }
  return { vet }
}
