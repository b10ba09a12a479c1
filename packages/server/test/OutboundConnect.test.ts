import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import { describe, expect, it } from "@effect/vitest"
import * as OutboundClient from "../src/Outbound/OutboundClient.js"
import { connectVetted } from "../src/Outbound/OutboundConnect.js"
import * as OutboundPolicy from "../src/Outbound/OutboundPolicy.js"

/*
 * Issue 26, item 1: the one way the server connects to a host a tenant or an admin named: resolve once,
 * check every address, connect to a checked one, TLS with SNI and the certificate check on the host name.
 * Names resolve from a table here (an injected lookup); DnsRebinding.test.ts does it with a real DNS server.
 */

/** A policy that resolves names from `table` (as a DNS server would) instead of the system's resolver. */
const policyWith = (allow: ReadonlyArray<string>, table: Record<string, ReadonlyArray<string>>) =>
  OutboundPolicy.make(allow, {
    lookup: async (host) =>
      (table[host] ?? []).map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
  })

const listening = (server: Http.Server | Tls.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
  )

describe("connections go to the address checked", () => {
  it("a fetch whose host resolves to loopback is refused at connect time and reaches nothing", async () => {
    let hits = 0
    const server = Http.createServer((_request, response) => {
      hits++
      // An allowed name that redirects to one that is not: the second hop is checked too.
      response.writeHead(302, { location: `http://inside.example:${port}/secret` }).end()
    })
    const port = await listening(server)
    try {
      const strict = OutboundClient.make(policyWith([], { "inside.example": ["127.0.0.1"] }))
      const direct = await strict.fetch(`http://inside.example:${port}/`).catch((e: Error) => e)
      expect(OutboundPolicy.categoryOf(direct)).toBe("refused by the outbound policy")
      const literal = await strict.fetch(`http://127.0.0.1:${port}/`).catch((e: Error) => e)
      expect(OutboundPolicy.categoryOf(literal)).toBe("refused by the outbound policy")
      const scheme = await strict.fetch("file:///etc/passwd").catch((e: Error) => e)
      expect(OutboundPolicy.categoryOf(scheme)).toBe("refused by the outbound policy")
      expect(hits).toBe(0)
      // Loopback allowed (as a test's peers are), a private address not: the redirect's hop is refused.
      const lenient = OutboundClient.make(
        policyWith(["127.0.0.1"], { "outside.example": ["127.0.0.1"], "inside.example": ["10.9.9.9"] })
      )
      const redirected = await lenient
        .fetch(`http://outside.example:${port}/`, { redirect: "follow" })
        .catch((e: Error) => e)
      expect(OutboundPolicy.categoryOf(redirected)).toBe("refused by the outbound policy")
      expect(hits).toBe(1)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it("Node's own fetch inside `around` goes through the client's connections (arctic's token requests)", async () => {
    let hits = 0
    const server = Http.createServer((_request, response) => {
      hits++
      response.writeHead(200, { connection: "close" }).end("ok")
    })
    const port = await listening(server)
    try {
      const lenient = OutboundClient.make(policyWith(["127.0.0.1"], { "idp.example": ["127.0.0.1"] }))
      // The system's resolver knows no idp.example: the answer came through the client's connection.
      const answer = await lenient.around(() =>
        fetch(`http://idp.example:${port}/token`).then((r) => r.text())
      )
      expect(answer).toBe("ok")
      const strict = OutboundClient.make(policyWith([], { "idp.example": ["127.0.0.1"] }))
      const refused = await strict
        .around(() => fetch(`http://idp.example:${port}/token`))
        .catch((e: Error) => e)
      expect(OutboundPolicy.categoryOf(refused)).toBe("refused by the outbound policy")
      expect(hits).toBe(1)
      // Outside `around`, Node's fetch is as it was.
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200)
      expect(hits).toBe(2)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it("TLS to the checked address names the host (SNI) and checks the certificate against the host", async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-sni-"))
    const [keyFile, certFile] = [Path.join(dir, "key.pem"), Path.join(dir, "cert.pem")]
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        "1",
        "-subj",
        "/CN=vetted.test",
        "-addext",
        "subjectAltName=DNS:vetted.test"
      ],
      { stdio: "ignore" }
    )
    const [key, cert] = [Fs.readFileSync(keyFile), Fs.readFileSync(certFile)]
    Fs.rmSync(dir, { recursive: true, force: true })
    // The server's SNI callback runs on the ClientHello, before the client can finish its handshake.
    const names: Array<string> = []
    const context = Tls.createSecureContext({ key, cert })
    const server = Tls.createServer(
      {
        key,
        cert,
        SNICallback: (name, done) => {
          names.push(name)
          done(null, context)
        }
      },
      (socket) => socket.end("hello")
    )
    const port = await listening(server)
    try {
      const policy = policyWith(["127.0.0.1"], { "vetted.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] })
      const socket = (await connectVetted(policy, "vetted.test", port, {
        tls: { ca: cert }
      })) as Tls.TLSSocket
      expect(socket.authorized).toBe(true)
      expect(socket.remoteAddress).toBe("127.0.0.1")
      socket.destroy()
      expect(names).toEqual(["vetted.test"])
      // Same address, another name: the certificate is for vetted.test, so the handshake fails.
      const mismatch = await connectVetted(policy, "other.test", port, { tls: { ca: cert } }).catch((e) => e)
      expect((mismatch as Error).message).toMatch(/no address took the connection/)
      expect(((mismatch as Error).cause as { code?: string }).code).toBe("ERR_TLS_CERT_ALTNAME_INVALID")
      // Refused before any connection: the server sees no third handshake.
      const refused = await connectVetted(
        policyWith([], { "vetted.test": ["127.0.0.1"] }),
        "vetted.test",
        port,
        {
          tls: { ca: cert }
        }
      ).catch((e) => e)
      expect(refused).toBeInstanceOf(OutboundPolicy.OutboundRefused)
      expect(names).toEqual(["vetted.test", "other.test"])
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
