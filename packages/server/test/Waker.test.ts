import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import * as Waker from "../src/Taps/Waker.js"

/*
 * The recorder flusher's wait (src/Taps/Waker.ts), on fake timers: no clock is read, the order of events is
 * what is asserted. The regression: a timer left running after a wake took a later wait's waker away, and the
 * taps recorded next waited up to 2 s in the buffer.
 */

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe("the recorder's waker", () => {
  it("a wake ends the wait at once, and its timer never ends a later wait", () => {
    const waker = Waker.make()
    const ended: Array<string> = []
    waker.wait(2_000, () => ended.push("first"))
    vi.advanceTimersByTime(100)
    waker.wake()
    expect(ended).toEqual(["first"])
    // The flusher appends, then waits again, before the first wait's timer would have fired.
    waker.wait(2_000, () => ended.push("second"))
    vi.advanceTimersByTime(1_950)
    // The first wait's 2 s have passed: the second wait is still the one a tap wakes.
    expect(waker.waiting()).toBe(true)
    expect(ended).toEqual(["first"])
    waker.wake()
    expect(ended).toEqual(["first", "second"])
    // Nothing fires later: each wait ended once.
    vi.advanceTimersByTime(10_000)
    expect(ended).toEqual(["first", "second"])
  })

  it("without a wake the wait ends after its time; a cancelled wait never ends and wakes nothing", () => {
    const waker = Waker.make()
    const ended: Array<string> = []
    waker.wait(250, () => ended.push("timed"))
    vi.advanceTimersByTime(249)
    expect(ended).toEqual([])
    vi.advanceTimersByTime(1)
    expect(ended).toEqual(["timed"])
    expect(waker.waiting()).toBe(false)
    const cancel = waker.wait(250, () => ended.push("cancelled"))
    cancel()
    expect(waker.waiting()).toBe(false)
    waker.wake()
    vi.advanceTimersByTime(1_000)
    expect(ended).toEqual(["timed"])
  })
})
