import { describe, expect, it } from "vitest"
import { check, mark, toolNumbers } from "../src/Recaps/Grounding.js"

/*
 * The grounding check alone: which numbers a recap may write given what the tools returned. The whole path
 * (a model, the regeneration, the marks, the stored tool calls) is in Recaps.test.ts.
 */

const results = [
  {
    totalTaps: 2340,
    uniqueBands: 812,
    engagement: 0.4567,
    averageTapsPerBand: 2.88,
    peakMinute: { at: "2026-12-06 21:14", taps: 57 },
    retention: { day1: 0.125 }
  },
  [
    { title: "Stage 2", taps: 1234, share: 0.5274 },
    { title: "After", taps: 98, share: 0.0419 }
  ]
]

const range = {
  from: new Date("2026-12-05T12:00:00Z"),
  to: new Date("2026-12-07T12:00:00Z"),
  timezone: "Europe/Paris"
}

const unmatched = (text: string, within: typeof range | null = range) =>
  check(text, results, within).unmatched.map((token) => token.text)

describe("recap grounding", () => {
  it("takes values, numbers inside text values and list lengths from the tool results", () => {
    const numbers = toolNumbers(results)
    for (const n of [2340, 812, 0.4567, 2.88, 57, 2026, 12, 6, 21, 14, 2, 1234, 98]) {
      expect(numbers).toContain(n)
    }
  })

  it("accepts the numbers as the text rounds them: separators, percentages, decimals, k", () => {
    expect(
      unmatched(
        "2,340 taps from 812 bands (45.7% engagement, 46% rounded, 2.9 taps each); 1.2k on Stage 2, 52.74% of all; 12.5% back the next day; about 3 taps a band; 7 windows? no: 2 windows."
      )
    ).toEqual(["7"])
  })

  it("refuses numbers no tool returned, and roundings the value does not give", () => {
    expect(unmatched("2,347 taps; engagement 45.6%; 2.8 taps per band; 1.3k on Stage 2")).toEqual([
      "2,347",
      "45.6%",
      "2.8",
      "1.3k"
    ])
  })

  it("lets dates and times inside the range through, and checks those outside like any number", () => {
    expect(unmatched("On 6 December, at 21:14 and again at 9 pm; December 7th 2026 too.")).toEqual([])
    expect(unmatched("2026-12-06 20:05 was busy")).toEqual([])
    // Outside the range: the day's number is not a tool's, so it is caught.
    expect(unmatched("On 25 December it rained")).toEqual(["25"])
    expect(unmatched("2027-01-05")).toEqual(["2027", "01", "05"])
    // Without a range, a date is numbers like any other.
    expect(unmatched("On 5 December", null)).toEqual(["5"])
  })

  it("does not count list markers as figures", () => {
    expect(unmatched("1. 812 bands\n2. 57 taps in the peak minute\n 3) 98 after")).toEqual([])
  })

  it("marks each unmatched number where the text wrote it", () => {
    const text = "We saw 2,347 taps and 9 windows; 812 bands."
    const found = check(text, results, range)
    expect(found.grounded).toBe(false)
    expect(mark(text, found.unmatched)).toBe(
      "We saw 2,347 [unverified] taps and 9 [unverified] windows; 812 bands."
    )
  })
})
