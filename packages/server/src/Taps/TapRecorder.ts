import { Context } from "effect"
import type { RecorderStats, TapRecord } from "./TapRecord.js"

/**
 * The hot path's hand-off, called before the response is sent: `record` writes the tap to the local journal
 * (Redis mode; one synchronous write) and puts it in a bounded in-process buffer, and returns. One long-lived
 * fiber, forked when the layer starts, appends the buffer to the pipeline in batches. The response never
 * waits for Redis, and no fiber is started per request.
 */
export interface TapRecorderShape {
  /**
   * `onDurable` runs once the tap is in the journal (later in this turn of the event loop, or at once where
   * there is no journal): the hot path writes its 302 there, so no 302 leaves before its tap is on disk.
   */
  readonly record: (tap: TapRecord, onDurable?: () => void) => void
  readonly stats: () => RecorderStats
}

export class TapRecorder extends Context.Tag("@tapline/server/TapRecorder")<
  TapRecorder,
  TapRecorderShape
>() {}
