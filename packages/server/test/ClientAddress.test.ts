import { describe, expect, it } from "@effect/vitest"
import { clientAddress } from "../src/Net/ClientAddress.js"

describe("client address (redirect, audit and rate limits share it)", () => {
  it("takes the rightmost entry of the proxy's header: the one our proxy wrote", () => {
    expect(clientAddress("198.51.100.7, 203.0.113.9", "10.0.0.1")).toBe("203.0.113.9")
    expect(clientAddress("2001:db8::1", "10.0.0.1")).toBe("2001:db8::1")
  })

  it("falls back to the socket's peer when the header is missing or not an address", () => {
    expect(clientAddress(undefined, "192.0.2.4")).toBe("192.0.2.4")
    expect(clientAddress("203.0.113.9, not-an-ip", "192.0.2.4")).toBe("192.0.2.4")
    expect(clientAddress("", "192.0.2.4")).toBe("192.0.2.4")
    // A client-written entry left of a spoofed one is never used.
    expect(clientAddress("203.0.113.9, <script>", "192.0.2.4")).toBe("192.0.2.4")
  })

  it("unwraps IPv4-mapped IPv6 peers and answers null when nothing is an address", () => {
    expect(clientAddress(null, "::ffff:192.0.2.4")).toBe("192.0.2.4")
    expect(clientAddress(null, "::1")).toBe("::1")
    expect(clientAddress("junk", undefined)).toBeNull()
    expect(clientAddress(undefined, "")).toBeNull()
  })
})
