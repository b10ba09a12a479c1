import * as Net from "node:net"

/*
 * Which addresses are public: reachable by anyone, so reaching them from the server gives a tenant nothing
 * it did not have. Everything else (loopback, private, link-local with the cloud metadata service, CGNAT,
 * multicast, reserved) is refused in every spelling, IPv6 ones that carry an IPv4 address included.
 */

const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24], // IETF protocol assignments (192.0.0.192 is Oracle Cloud's metadata)
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4] // reserved, broadcast
]

const BLOCKED_V6: ReadonlyArray<readonly [string, number]> = [
  ["::", 96], // unspecified, loopback and the deprecated IPv4-compatible block (judged as IPv4 below)
  ["64:ff9b:1::", 48], // local-use NAT64 (RFC 8215): where the IPv4 sits depends on the operator's prefix
  ["100::", 64], // discard-only
  ["2001::", 32], // Teredo: the client's IPv4 is obfuscated, the relay could be anything
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local (AWS's fd00:ec2::254 metadata too)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated, still routed by some)
  ["ff00::", 8] // multicast
]

const blockedV4 = new Net.BlockList()
for (const [network, prefix] of BLOCKED_V4) blockedV4.addSubnet(network, prefix, "ipv4")
const blockedV6 = new Net.BlockList()
for (const [network, prefix] of BLOCKED_V6) blockedV6.addSubnet(network, prefix, "ipv6")

/** The 16 bytes of an IPv6 address (`Net.isIPv6` must hold); a trailing dotted quad and a zone are allowed. */
const bytesOf = (address: string): Uint8Array => {
  let text = address.replace(/%.*$/, "").toLowerCase()
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (quad !== null) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined]
  const groups = (part: string | undefined) => (part === undefined || part === "" ? [] : part.split(":"))
  const left = groups(head)
  const right = groups(tail)
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
  const bytes = new Uint8Array(16)
  all.forEach((group, index) => {
    const value = Number.parseInt(group, 16)
    bytes[index * 2] = value >> 8
    bytes[index * 2 + 1] = value & 0xff
  })
  return bytes
}

const zero = (bytes: Uint8Array, from: number, to: number) => bytes.slice(from, to).every((b) => b === 0)
const v4At = (bytes: Uint8Array, at: number) => Array.from(bytes.slice(at, at + 4)).join(".")

/**
 * The IPv4 address an IPv6 one spells, where the packet ends up at that IPv4 address (or a gateway's view of
 * it): IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated (SIIT) `::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d`,
 * NAT64 well-known prefix `64:ff9b::a.b.c.d` and 6to4 `2002:aabb:ccdd::`. Null for any other address.
 */
export const embeddedIpv4 = (address: string): string | null => {
  const bytes = bytesOf(address)
  const word = (at: number) => (bytes[at]! << 8) | bytes[at + 1]!
  if (zero(bytes, 0, 10) && word(10) === 0xffff) return v4At(bytes, 12) // mapped
  if (zero(bytes, 0, 8) && word(8) === 0xffff && word(10) === 0) return v4At(bytes, 12) // translated
  if (zero(bytes, 0, 12)) return v4At(bytes, 12) // compatible (and :: and ::1)
  if (word(0) === 0x64 && word(2) === 0xff9b && zero(bytes, 4, 12)) return v4At(bytes, 12) // NAT64
  if (word(0) === 0x2002) return v4At(bytes, 2) // 6to4
  return null
}

export const isPublicAddress = (address: string): boolean => {
  if (Net.isIPv4(address)) return !blockedV4.check(address, "ipv4")
  if (!Net.isIPv6(address)) return false
  const v4 = embeddedIpv4(address)
  if (v4 !== null) return !blockedV4.check(v4, "ipv4")
  return !blockedV6.check(address.replace(/%.*$/, ""), "ipv6")
}
