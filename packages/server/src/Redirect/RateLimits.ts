import { Context, Effect, Layer, Schedule } from "effect"
import { AppConfig } from "../Config/AppConfig.js"

/**
 * Per-client limits on /e, per instance and in memory (no round trip on the hot path). The request limit is
 * generous, because a venue's Wi-Fi or a carrier NAT puts many phones behind one address; the limit on
 * unknown band ids is tight, because enumeration is a stream of ids that do not exist.
 */
export interface RateLimitsShape {
  /** Counts one request; false when the client is over its per-minute limit. */
  readonly request: (client: string) => boolean
  /** Counts one unknown band id; false when the client is over its per-minute limit. */
  readonly unknownBand: (client: string) => boolean
}

export class RateLimits extends Context.Tag("@tapline/server/RateLimits")<RateLimits, RateLimitsShape>() {}

interface Counter {
  minute: number
  requests: number
  unknown: number
}

export const make = Effect.gen(function* () {
  const { taps } = yield* AppConfig
  const counters = new Map<string, Counter>()

  const counter = (client: string): Counter => {
    const minute = Math.floor(Date.now() / 60_000)
    let entry = counters.get(client)
    if (entry === undefined || entry.minute !== minute) {
      entry = { minute, requests: 0, unknown: 0 }
      counters.set(client, entry)
    }
    return entry
  }

  yield* Effect.forkScoped(
    Effect.repeat(
      Effect.sync(() => {
        const minute = Math.floor(Date.now() / 60_000)
        for (const [client, entry] of counters) if (entry.minute < minute) counters.delete(client)
      }),
      Schedule.spaced("1 minute")
    )
  )

  return {
    request: (client) => ++counter(client).requests <= taps.rateLimitPerMinute,
    unknownBand: (client) => ++counter(client).unknown <= taps.unknownBandsPerMinute
  } satisfies RateLimitsShape
})

export const layer = Layer.scoped(RateLimits, make)
