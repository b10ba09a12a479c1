/*
 * Where a tap waits when the journal cannot write it (a full or failing disk): in memory, in the order the
 * taps were served, bounded by TAP_MEMORY_BUFFER_MAX. The recorder drains it to Redis or, while Redis is down
 * too, back to the journal once the disk takes writes again, whichever answers first. Only the journal's
 * lines are kept (about 400 bytes a tap): the tap is parsed again when it is appended.
 */

export interface TapMemoryTier {
  readonly size: () => number
  /** Appends as many lines as there is room for; the count of those that did not fit. */
  readonly push: (lines: ReadonlyArray<string>) => number
  /** The oldest `count` lines, left in place until `drop`. */
  readonly peek: (count: number) => ReadonlyArray<string>
  /** Removes the oldest `count` lines (those just drained). */
  readonly drop: (count: number) => void
}

export const make = (max: number): TapMemoryTier => {
  let lines: Array<string> = []
  // Index of the oldest line: draining from the front does not shift the array each time.
  let head = 0
  const size = () => lines.length - head
  return {
    size,
    push: (added) => {
      const room = Math.max(0, max - size())
      const taken = added.length <= room ? added : added.slice(0, room)
      for (const line of taken) lines.push(line)
      return added.length - taken.length
    },
    peek: (count) => lines.slice(head, head + count),
    drop: (count) => {
      head = Math.min(lines.length, head + count)
      if (head === lines.length) {
        lines = []
        head = 0
      } else if (head > 4096 && head * 2 > lines.length) {
        lines = lines.slice(head)
        head = 0
      }
    }
  }
}
