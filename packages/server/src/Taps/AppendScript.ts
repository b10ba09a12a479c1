import { Effect } from "effect"
import * as LuaScript from "../Redis/LuaScript.js"
import type { RedisConnection } from "../Redis/Redis.js"
import { LATEST_TAPS, liveCounterOps } from "./LiveCounters.js"
import { STREAM_KEY } from "./RedisTapKeys.js"
import { TapQueueError } from "./TapQueue.js"
import type { TapRecord } from "./TapRecord.js"

/*
 * Appends a batch in one round trip. Per tap: the duplicate check against the band's last tap time (tap
 * times, not arrival times, so a replayed spool judges the same) and XADD. The live counters arrive already
 * added up per batch (ARGV[3]): a handful of commands per batch instead of several per tap. Bots are neither
 * counted nor deduplicated. Every counter expires (seconds after 10 minutes, the latest taps after an hour,
 * minutes and the unique-band count a day after the event's last tap): the live view shows recent figures,
 * and a key without a TTL here is one left behind per event forever.
 */
const APPEND = `
local prefix = ARGV[1]
local window = tonumber(ARGV[2])
local counters = cjson.decode(ARGV[3])
for i = 4, #ARGV do
  local tap = cjson.decode(ARGV[i])
  local dup = 0
  local org = tap.orgId
  if org == nil or org == cjson.null then org = tap.orgRef end
  if not tap.bot then
    local lastKey = prefix .. '{taps}:last:' .. org .. ':' .. tap.bandUid
    local last = tonumber(redis.call('GET', lastKey) or '-1')
    if last >= 0 and tap.at >= last and tap.at - last < window then dup = 1 end
    if tap.at > last then
      redis.call('SET', lastKey, string.format('%d', tap.at), 'PX', window + 60000)
    end
  end
  redis.call('XADD', KEYS[1], '*', 't', ARGV[i], 'd', dup)
end
for _, c in ipairs(counters) do
  local key = prefix .. '{taps}:live:' .. c[2]
  if c[1] == 's' then
    redis.call('INCRBY', key, c[3])
    redis.call('EXPIRE', key, 600)
  elseif c[1] == 'm' then
    redis.call('HINCRBY', key, c[3], c[4])
    redis.call('EXPIRE', key, 90000)
  elseif c[1] == 'l' then
    redis.call('LPUSH', key, unpack(c, 3))
    redis.call('LTRIM', key, 0, ${LATEST_TAPS - 1})
    redis.call('EXPIRE', key, 3600)
  else
    redis.call('PFADD', key, unpack(c, 3))
    redis.call('EXPIRE', key, 90000)
  end
end
return #ARGV - 3`

/** Longest a batch append may take before its taps are left to the journal for replay. */
const append = LuaScript.make(APPEND)

const APPEND_DEADLINE_MS = 2_000

const errorMessage = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/**
 * The append of a batch to the stream on `client`: the taps (for the live counters) and their journal lines
 * (what XADD stores, byte for byte what the journal holds). `prefix` is the client's key prefix, which the
 * script adds by hand to the keys it builds; `windowMs` is TAP_DUPLICATE_INTERVAL.
 */
export const make = (
  client: RedisConnection,
  options: { readonly prefix: string; readonly windowMs: number }
) => {
  /*
   * A deadline of its own: a Redis that accepts the connection but does not answer (paused, loading) would
   * otherwise hold the batch, and the shutdown behind it. A late success appends taps that are then replayed
   * too: harmless, the store is idempotent on tap id.
   */
  return (taps: ReadonlyArray<TapRecord>, lines: ReadonlyArray<string>) =>
    Effect.tryPromise({
      try: () => {
        let timer: NodeJS.Timeout | undefined
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("append deadline passed")), APPEND_DEADLINE_MS)
        })
        const appended = append<number>(
          client,
          [STREAM_KEY],
          [options.prefix, options.windowMs, JSON.stringify(liveCounterOps(taps)), ...lines]
        )
        return Promise.race([appended, deadline]).finally(() => clearTimeout(timer))
      },
      catch: (cause) => new TapQueueError({ operation: "append", message: errorMessage(cause), cause })
    })
}
