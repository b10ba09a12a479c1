import { Redis } from "ioredis"
import { redisUrl, runId } from "./env.js"

/*
 * A vitest global setup (vitest.shared.ts): when every project of the run has finished, the keys the run left
 * in the shared Redis without a TTL fail it. Each test's prefix is `tapline-test:<run id>:…` and its harness
 * removes it; a key still there without a TTL stays forever (a harness that cleaned the wrong prefix, a
 * production key that never expires). Keys with a TTL go on their own and are not counted. Vitest runs every
 * project's teardown after all tests, so no test of the run is still writing when this looks.
 */

/**
 * The keys under `pattern` that have no TTL, removed once listed: the failure is said, and the shared Redis
 * does not keep them for the next run.
 */
export const takeKeysWithoutTtl = async (url: string, pattern: string): Promise<Array<string>> => {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    const found: Array<string> = []
    for await (const keys of client.scanStream({ match: pattern, count: 1000 }) as AsyncIterable<
      Array<string>
    >) {
      for (const key of keys) if ((await client.ttl(key)) === -1) found.push(key)
    }
    if (found.length > 0) await client.del(...found)
    return found
  } finally {
    client.disconnect()
  }
}

export const setup = () => {
  // Workers start after this and inherit it, so the run id they put in prefixes is the one looked for here.
  process.env.TAPLINE_TEST_RUN = runId
}

const SHOWN = 20

export const teardown = async () => {
  // Several projects share the run; one look is enough.
  if (process.env.TAPLINE_LEFTOVER_KEYS_CHECKED === runId) return
  process.env.TAPLINE_LEFTOVER_KEYS_CHECKED = runId
  const pattern = `tapline-test:${runId}:*`
  const left = await takeKeysWithoutTtl(redisUrl, pattern).catch((error: unknown) => {
    // No Redis at the end (a run of unit tests only): nothing was written there either.
    console.warn(`leftover keys not checked: ${error instanceof Error ? error.message : String(error)}`)
    return []
  })
  if (left.length === 0) return
  process.exitCode = 1
  console.error(
    [
      `The test run left ${left.length} Redis key(s) without a TTL under ${pattern} (now removed):`,
      ...left.slice(0, SHOWN).map((key) => `  ${key}`),
      ...(left.length > SHOWN ? [`  … and ${left.length - SHOWN} more`] : []),
      "Remove them in the test's harness (TestRedis.cleanupPrefix) or give the production key a TTL."
    ].join("\n")
  )
}
