import * as Dns from "node:dns/promises"
import * as Net from "node:net"
import {
  categoryOf,
  OutboundRefused,
  OutboundTimeout,
  OutboundUnreachable,
  reasonOf
} from "./OutboundErrors.js"
import { embeddedIpv4, isPublicAddress } from "./PublicAddress.js"

export { isPublicAddress } from "./PublicAddress.js"
export { categoryOf, OutboundRefused, OutboundTimeout, OutboundUnreachable, reasonOf }

/*
 * Server-side requests to URLs a tenant or an admin typed (webhook and chat endpoints, an OIDC issuer and what
 * its discovery document names) must not reach what only the server can reach: loopback, private networks,
 * link-local addresses (169.254.169.254 is the cloud metadata service) and the like, in any spelling.
 *
 * The addresses are judged where the connection is made (OutboundConnect): the host is resolved once, every
 * address is checked, and the socket goes to a checked address. Checking a URL and then letting something
 * else resolve its name again (DNS rebinding) is the bug this layout avoids; `vet` remains only as an early
 * answer when a URL is saved.
 */

/** One address a name resolves to. */
export interface Resolved {
  readonly address: string
  readonly family: 4 | 6
}

/** How names are resolved; the system's resolver (getaddrinfo, /etc/hosts) unless a test gives its own. */
export type Lookup = (host: string) => Promise<ReadonlyArray<Resolved>>

// `Dns.lookup` is read at each call, so a process-wide replacement (a test's DNS) is seen.
const systemLookup: Lookup = (host) =>
  Dns.lookup(host, { all: true, verbatim: true }).then((found) =>
    found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }))
  )

export interface OutboundPolicy {
  /** The URL, parsed, when it is an http(s) URL; throws OutboundRefused otherwise. No resolution. */
  readonly target: (url: string) => URL
  /**
   * The addresses of `host` a connection may go to: all of them when each is public or allowed, or when
   * OUTBOUND_ALLOW names the host; rejects with a categorised error otherwise. Never says what it found.
   */
  readonly resolve: (host: string) => Promise<ReadonlyArray<Resolved>>
  /** An address (no name): whether a connection may go to it, judged at once as `resolve` would. */
  readonly allowsAddress: (address: string) => boolean
  /** `target` and `resolve` at once, for an early answer when a URL is saved. The request checks again. */
  readonly vet: (url: string) => Promise<URL>
}

const LOOKUP_TIMEOUT_MS = 3_000

/** The same words for every address refused, whatever it was: the message must not tell what a name is. */
export const ADDRESS_REFUSED =
  "loopback, private, link-local and metadata addresses are not reached (OUTBOUND_ALLOW can name one)"

const familyOf = (address: string) => (Net.isIPv4(address) ? "ipv4" : "ipv6")

/** `[::1]` → `::1`, lower case: the host as a URL's hostname or a socket's host spells it. */
export const bareHost = (host: string) => host.replace(/^\[|\]$/g, "").toLowerCase()

/**
 * `allow`: host names (exact, lower case), addresses, or networks in CIDR notation (`10.1.0.0/16`). Tests
 * name their loopback peers here; production names an internal identity provider, if it has one. An IPv6
 * address that spells an IPv4 one (mapped, translated, compatible, NAT64, 6to4) is judged as that IPv4
 * address, so an allowed IPv4 network is allowed in those spellings too and a refused one is refused in all.
 */
export const make = (
  allow: ReadonlyArray<string>,
  options: { readonly lookup?: Lookup; readonly lookupTimeoutMs?: number } = {}
): OutboundPolicy => {
  const lookup = options.lookup ?? systemLookup
  const lookupTimeoutMs = options.lookupTimeoutMs ?? LOOKUP_TIMEOUT_MS
  const hosts = new Set<string>()
  const allowed = new Net.BlockList()
  for (const entry of allow.map((e) => e.trim().toLowerCase()).filter((e) => e.length > 0)) {
    const [network, prefix] = entry.split("/")
    const bare = bareHost(network!)
    const family = Net.isIPv4(bare) ? "ipv4" : Net.isIPv6(bare) ? "ipv6" : null
    if (family === null) hosts.add(entry)
    else if (prefix === undefined) allowed.addAddress(bare, family)
    else allowed.addSubnet(bare, Number(prefix), family)
  }
  const addressAllowed = (address: string) => {
    if (isPublicAddress(address) || allowed.check(address, familyOf(address))) return true
    const v4 = Net.isIPv6(address) ? embeddedIpv4(address) : null
    return v4 !== null && allowed.check(v4, "ipv4")
  }

  const target = (text: string): URL => {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new OutboundRefused("not a URL")
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new OutboundRefused(`only http(s) URLs are fetched, not ${url.protocol}`)
    }
    return url
  }

  const resolveName = (host: string) =>
    Promise.race([
      lookup(host),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new OutboundTimeout("the name did not resolve in time")),
          lookupTimeoutMs
        ).unref()
      )
    ]).then(
      (found) => {
        if (found.length === 0) throw new OutboundUnreachable("the name does not resolve")
        return found
      },
      (error: unknown) => {
        throw error instanceof OutboundTimeout ? error : new OutboundUnreachable("the name does not resolve")
      }
    )

  const resolve = async (raw: string): Promise<ReadonlyArray<Resolved>> => {
    const host = bareHost(raw)
    if (Net.isIP(host) !== 0) {
      if (hosts.has(host) || addressAllowed(host))
        return [{ address: host, family: Net.isIPv4(host) ? 4 : 6 }]
      throw new OutboundRefused(ADDRESS_REFUSED)
    }
    const found = await resolveName(host)
    // Every address, not just the first: a connection may try any of them.
    if (!hosts.has(host) && found.some(({ address }) => !addressAllowed(address))) {
      throw new OutboundRefused(ADDRESS_REFUSED)
    }
    return found
  }

  const allowsAddress = (raw: string) => {
    const address = bareHost(raw)
    return Net.isIP(address) !== 0 && (hosts.has(address) || addressAllowed(address))
  }

  const vet = async (text: string) => {
    const url = target(text)
    await resolve(url.hostname)
    return url
  }

  return { target, resolve, allowsAddress, vet }
}
