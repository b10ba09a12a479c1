import * as Crypto from "node:crypto"
import type { RedisConnection } from "./Redis.js"

/**
 * A Lua script run by EVALSHA, and by EVAL when the node answers NOSCRIPT (a restarted or new node, a
 * failover, SCRIPT FLUSH). Not ioredis's `defineCommand`: it marks a connection as holding the script when its
 * EVAL is written, not when it ran, so on a Cluster an EVAL redirected by MOVED left a node marked, and CI saw
 * the rate limiter's retry fail with NOSCRIPT. Nothing is remembered here: EVAL carries the script and cannot
 * miss. Keys get the connection's prefix, as for any command.
 */
export const make = (lua: string) => {
  const sha = Crypto.createHash("sha1").update(lua).digest("hex")
  return <A>(
    client: RedisConnection,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number>
  ): Promise<A> =>
    (client.evalsha(sha, keys.length, ...keys, ...args) as Promise<A>).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error
      return client.eval(lua, keys.length, ...keys, ...args) as Promise<A>
    })
}
