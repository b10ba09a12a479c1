import { Effect } from "effect"
import type { SinkBehind } from "./SinkBehind.js"
import { type Delivery, type PipelineHealth, type TapQueueShape, WRITER_GROUP } from "./TapQueue.js"
import type { TapRecord } from "./TapRecord.js"

interface Entry {
  readonly id: string
  readonly tap: TapRecord
  /** Each group that has not acknowledged it yet: when it was delivered to it, or null while unread. */
  readonly groups: Map<string, number | null>
}

/**
 * The embedded mode's stream: the Redis Stream's consumer groups in this process. An entry stays until every
 * registered group has acknowledged it; past `cap` entries, a sink lagging behind the writers loses its
 * oldest ones (as `trim` does in Redis) and is marked behind. The writers' group is registered from the
 * start, so no tap recorded before the writer starts is dropped.
 */
export const make = (options: { readonly cap: number; readonly behind: SinkBehind }) => {
  const entries: Array<Entry> = []
  const groups = new Set<string>([WRITER_GROUP])
  let sequence = 0
  // Entries the writers have not acknowledged: what TAP_BUFFER_MAX bounds.
  let writersHold = 0
  const waiting = new Set<() => void>()

  const append = (tap: TapRecord) => {
    entries.push({ id: String(++sequence), tap, groups: new Map([...groups].map((group) => [group, null])) })
    writersHold++
    for (const resume of waiting) resume()
    waiting.clear()
  }

  /** Like a consumer group created at "0": a new group gets what the stream still holds. */
  const register = (group: string) => {
    if (groups.has(group)) return
    groups.add(group)
    for (const entry of entries) entry.groups.set(group, null)
  }

  /** Entries every group has acknowledged leave; the rest keep their order. */
  const compact = () => {
    let kept = 0
    for (const entry of entries) if (entry.groups.size > 0) entries[kept++] = entry
    const removed = entries.length - kept
    entries.length = kept
    return removed
  }

  const queue = (group: string): TapQueueShape => {
    const unread = (entry: Entry) => entry.groups.get(group) === null

    const deliver = (selected: ReadonlyArray<Entry>): Delivery => {
      const now = Date.now()
      for (const entry of selected) entry.groups.set(group, now)
      return { ids: selected.map((e) => e.id), taps: selected.map((e) => e.tap), malformed: 0 }
    }

    const waitForEntries = Effect.async<void>((resume) => {
      if (entries.some(unread)) return resume(Effect.void)
      const wake = () => resume(Effect.void)
      waiting.add(wake)
      return Effect.sync(() => {
        waiting.delete(wake)
      })
    }).pipe(Effect.timeoutOption("1 second"))

    return {
      take: (max) =>
        Effect.zipRight(
          // The writer takes uninterruptibly (a delivered batch is its own); the wait before a delivery
          // is not one, and kept uninterruptible its timeout could never end it, so a stop waited for the
          // next tap.
          Effect.interruptible(waitForEntries),
          Effect.sync(() => deliver(entries.filter(unread).slice(0, max)))
        ),
      claim: (idleMs, max) =>
        Effect.sync(() => {
          const now = Date.now()
          return deliver(
            entries
              .filter((entry) => {
                const deliveredAt = entry.groups.get(group)
                return typeof deliveredAt === "number" && now - deliveredAt > idleMs
              })
              .slice(0, max)
          )
        }),
      ack: (ids) =>
        Effect.sync(() => {
          const done = new Set(ids)
          let emptied = false
          for (const entry of entries) {
            if (!done.has(entry.id) || !entry.groups.delete(group)) continue
            if (group === WRITER_GROUP) writersHold--
            if (entry.groups.size === 0) emptied = true
          }
          if (emptied) compact()
        }),
      // Past the cap, sinks give up their oldest entries, up to the first one the writers still hold.
      trim: Effect.suspend(() => {
        const passed = new Set<string>()
        const excess = entries.length - options.cap
        for (let i = 0; i < excess; i++) {
          const entry = entries[i]!
          if (entry.groups.has(WRITER_GROUP)) break
          for (const other of [...entry.groups.keys()]) {
            entry.groups.delete(other)
            passed.add(other)
          }
        }
        const removed = compact()
        return Effect.as(
          options.behind.trimmed([...passed], { cap: options.cap, removed, pastCap: excess > 0 }),
          removed
        )
      }),
      // One consumer in one process: what it held is delivered again if the process goes on.
      release: Effect.sync(() => {
        let handedBack = 0
        for (const entry of entries) {
          if (typeof entry.groups.get(group) !== "number") continue
          entry.groups.set(group, null)
          handedBack++
        }
        return { handedBack }
      }),
      forgetIdle: () => Effect.succeed(0),
      health: Effect.sync((): PipelineHealth => {
        const now = Date.now()
        let lag = 0
        let pending = 0
        let oldestDelivery = now
        let oldestHeld: Entry | undefined
        for (const entry of entries) {
          const deliveredAt = entry.groups.get(group)
          if (deliveredAt === undefined) continue
          oldestHeld ??= entry
          if (deliveredAt === null) lag++
          else {
            pending++
            oldestDelivery = Math.min(oldestDelivery, deliveredAt)
          }
        }
        return {
          streamLength: entries.length,
          lag,
          pending,
          oldestPendingMs: pending === 0 ? null : now - oldestDelivery,
          // The first entry the group still holds is its oldest unstored.
          oldestUnstoredMs: oldestHeld === undefined ? null : Math.max(0, now - oldestHeld.tap.at),
          consumers: 1
        }
      })
    }
  }

  return { append, register, queue, writersHold: () => writersHold }
}
