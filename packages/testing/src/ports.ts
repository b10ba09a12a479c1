import * as Net from "node:net"

/*
 * A port the kernel hands out for `listen(0)` comes from its ephemeral range, the range every outgoing
 * connection's local port comes from too. Between choosing such a port and the server binding it, another
 * worker's `freePort` or any client's connection could take it: the server then fails to bind, or a test
 * talks to somebody else's server (seen once in CI: a Prometheus target "connection refused" after the server
 * had answered ready). So test ports come from below the ephemeral range, in a block of their own per vitest
 * worker (VITEST_POOL_ID; block 0 for global setup and scripts), each one checked free by binding it.
 */
const FIRST = 20_000
const BLOCK = 1_000
const BLOCKS = 12 // 20 000 – 31 999, below Linux's default ephemeral range (32 768 – 60 999)

const block = Number(process.env.VITEST_POOL_ID ?? "0") % BLOCKS
let next = Math.floor(Math.random() * BLOCK)

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = Net.createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** A loopback port nobody listens on right now, from this process's own block. */
export const freePort = async (): Promise<number> => {
  for (let tries = 0; tries < BLOCK; tries++) {
    const port = FIRST + block * BLOCK + (next++ % BLOCK)
    if (await bindable(port)) return port
  }
  throw new Error(`no free port in ${FIRST + block * BLOCK}–${FIRST + (block + 1) * BLOCK - 1}`)
}
