import { Context, Effect } from "effect"
import { gauge, labelledCounterFrom, Metrics } from "../Telemetry/Metrics.js"

/**
 * Sinks the stream cap (TAP_STREAM_MAX_ENTRIES) trimmed past: taps they had not acknowledged are gone for
 * them. How many are behind now is a gauge (tapline_tap_sinks_behind, always exposed, which Prometheus alerts
 * on); each trim that cut into a group is counted by group (tapline_tap_sink_behind_total); the first cut of
 * a streak is said at ERROR, and its end at INFO. The writer is never among them.
 */
export const make = Effect.gen(function* () {
  const metrics = yield* Metrics
  const passes: Record<string, number> = {}
  const behind = new Set<string>()
  yield* labelledCounterFrom(metrics, {
    name: "tapline_tap_sink_behind_total",
    help: "Trims that removed taps a sink's consumer group had not acknowledged (the stream reached TAP_STREAM_MAX_ENTRIES), by group",
    label: "group",
    read: () => passes
  })
  yield* gauge(metrics, {
    name: "tapline_tap_sinks_behind",
    help: "Sinks (consumer groups other than the writers) the stream cap TAP_STREAM_MAX_ENTRIES trimmed past, until the stream is within the cap again",
    read: () => Promise.resolve(behind.size)
  })

  /**
   * After a trim: the groups it cut into, what it removed, and whether the stream was past the cap. A sink is
   * behind from the first cut until a trim finds the stream within the cap again (not merely a pass where
   * the writers' own backlog stopped the cut), so a streak is one ERROR, not one per pass.
   */
  const trimmed = (
    groups: ReadonlyArray<string>,
    detail: { readonly cap: number; readonly removed: number; readonly pastCap: boolean }
  ) =>
    Effect.gen(function* () {
      for (const group of groups) {
        passes[group] = (passes[group] ?? 0) + 1
        if (behind.has(group)) continue
        behind.add(group)
        yield* Effect.logError(
          "tap sink behind: the stream reached TAP_STREAM_MAX_ENTRIES and taps it had not acknowledged were trimmed; it will not get them"
        ).pipe(Effect.annotateLogs({ group, cap: detail.cap, trimmed: detail.removed }))
      }
      if (detail.pastCap) return
      for (const group of [...behind]) {
        behind.delete(group)
        yield* Effect.logInfo("tap sink back within TAP_STREAM_MAX_ENTRIES").pipe(
          Effect.annotateLogs({ group })
        )
      }
    })

  return {
    trimmed,
    /** The sinks behind now, for the in-process alert. */
    behind: (): ReadonlyArray<string> => [...behind]
  }
})

export type SinkBehind = Effect.Effect.Success<typeof make>

/** This process's record of sinks behind: the trims of its writer move it (both pipelines provide it). */
export class SinksBehind extends Context.Tag("@tapline/server/SinksBehind")<SinksBehind, SinkBehind>() {}
