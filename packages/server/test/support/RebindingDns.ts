import * as Dgram from "node:dgram"
import type * as DnsTypes from "node:dns"
import { createRequire, syncBuiltinESMExports } from "node:module"

// The module object itself (an ESM namespace cannot be changed): what `node:dns` and `node:dns/promises` export.
const Dns = createRequire(import.meta.url)("node:dns") as typeof DnsTypes

export interface RebindingDns {
  /** A queries answered so far for the name. */
  readonly queries: () => number
  readonly close: () => Promise<void>
}

/** The question of a DNS query: its name and where the question section ends. */
const questionOf = (packet: Buffer) => {
  const labels: Array<string> = []
  let at = 12
  while (packet[at]! > 0) {
    labels.push(packet.subarray(at + 1, at + 1 + packet[at]!).toString("latin1"))
    at += 1 + packet[at]!
  }
  return { name: labels.join(".").toLowerCase(), type: packet.readUInt16BE(at + 1), end: at + 5 }
}

/**
 * A DNS server on a loopback UDP port that answers `name`'s A queries in turn from `answers` (TTL 0), as an
 * attacker's name server does to rebind a name between a check and a request, and this process resolving
 * that name through it: `dns.lookup` (what Node's sockets and `fetch` call) and `dns.promises.lookup` are
 * wrapped to ask it for `name` only, every other name goes to the system's resolver as before.
 */
export const startRebindingDns = async (
  name: string,
  answers: ReadonlyArray<string>
): Promise<RebindingDns> => {
  let count = 0
  const socket = Dgram.createSocket("udp4")
  socket.on("message", (query, peer) => {
    const question = questionOf(query)
    const address = question.type === 1 && question.name === name ? answers[count++ % answers.length]! : null
    const answer =
      address === null
        ? Buffer.alloc(0)
        : Buffer.concat([
            Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4]),
            Buffer.from(address.split(".").map(Number))
          ])
    const header = Buffer.alloc(12)
    query.copy(header, 0, 0, 2)
    header.writeUInt16BE(0x8180, 2) // a response, recursion desired and available, no error
    header.writeUInt16BE(1, 4)
    header.writeUInt16BE(address === null ? 0 : 1, 6)
    socket.send(Buffer.concat([header, query.subarray(12, question.end), answer]), peer.port, peer.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve))
  const resolver = new Dns.promises.Resolver({ timeout: 1_000, tries: 1 })
  resolver.setServers([`127.0.0.1:${socket.address().port}`])

  const ask = async (options: DnsTypes.LookupOptions | number | undefined) => {
    const found = await resolver.resolve4(name)
    const all = found.map((address) => ({ address, family: 4 }))
    return typeof options === "object" && options.all === true ? all : all[0]!
  }
  const original = { lookup: Dns.lookup, promised: Dns.promises.lookup }
  const lookup = (host: string, options: unknown, callback?: unknown) => {
    const done = (typeof options === "function" ? options : callback) as (...args: Array<unknown>) => void
    const given = typeof options === "function" ? undefined : (options as DnsTypes.LookupOptions | number)
    if (host.toLowerCase() !== name) return (original.lookup as Function).call(Dns, host, options, callback)
    ask(given).then(
      (found) => (Array.isArray(found) ? done(null, found) : done(null, found.address, found.family)),
      (error: Error) => done(error)
    )
  }
  const promised = (host: string, options?: DnsTypes.LookupOptions) =>
    host.toLowerCase() === name ? ask(options) : original.promised(host, options ?? {})
  Object.assign(Dns, { lookup })
  Object.assign(Dns.promises, { lookup: promised })
  syncBuiltinESMExports()
  return {
    queries: () => count,
    close: async () => {
      Object.assign(Dns, { lookup: original.lookup })
      Object.assign(Dns.promises, { lookup: original.promised })
      syncBuiltinESMExports()
      await new Promise<void>((resolve) => socket.close(() => resolve()))
    }
  }
}
