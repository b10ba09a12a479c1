/**
 * One waiter at a time, woken by `wake()` or after `ms`, whichever comes first; either way its timer is
 * gone. The recorder's flusher waits on it for taps. A timer left running after a wake once fired during a
 * later wait and took that wait's waker away, so the taps recorded next sat in the buffer until the later
 * wait's own timer (up to 2 s: bench:journeys' tap → queued p99 of about 2 s).
 */
export const make = () => {
  let waiter: (() => void) | null = null

  const wake = () => {
    const current = waiter
    waiter = null
    current?.()
  }

  /** Calls `done` once, at the wake or after `ms`; the returned function cancels the wait. */
  const wait = (ms: number, done: () => void) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const finish = () => {
      clearTimeout(timer)
      if (waiter === finish) waiter = null
      done()
    }
    waiter = finish
    timer = setTimeout(finish, ms)
    return () => {
      clearTimeout(timer)
      if (waiter === finish) waiter = null
    }
  }

  return { wake, wait, waiting: () => waiter !== null } as const
}
