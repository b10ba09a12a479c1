import * as LocalTime from "./LocalTime.js"

/*
 * The grounding check of a recap (issue 35; docs/recaps.md): every number the text writes must equal a number
 * a tool returned, after the rounding the text shows ("45.7%" for 0.45667, "1.2k" for 1234, "2,340" for
 * 2340). What the tools returned counts whole: numeric values, the numbers written inside their text values (a
 * window called "Stage 2", a local time "2026-12-06 21:14") and the lengths of their lists ("3 windows").
 * Dates and times inside the recap's range are the only numbers that need no tool; outside it, they are
 * checked like any other. List markers at the start of a line ("1. ") are layout, not figures.
 */

/** The recap's range and the zone its dates are written in. */
export interface DateRange {
  readonly from: Date
  readonly to: Date
  readonly timezone: string
}

/** A number the text wrote, where. */
export interface NumberToken {
  readonly text: string
  readonly index: number
}

export interface GroundingCheck {
  readonly grounded: boolean
  readonly unmatched: ReadonlyArray<NumberToken>
}

/** Every number the tools returned: values, numbers inside text values, list lengths. */
export const toolNumbers = (results: ReadonlyArray<unknown>): ReadonlyArray<number> => {
  const found = new Set<number>()
  const visit = (value: unknown, depth: number): void => {
    if (depth > 20) return
    if (typeof value === "number" && Number.isFinite(value)) found.add(value)
    else if (typeof value === "string") {
      for (const match of value.matchAll(/\d+(?:\.\d+)?/g)) found.add(Number(match[0]))
    } else if (Array.isArray(value)) {
      found.add(value.length)
      for (const item of value) visit(item, depth + 1)
    } else if (value !== null && typeof value === "object") {
      for (const item of Object.values(value)) visit(item, depth + 1)
    }
  }
  for (const result of results) visit(result, 0)
  return [...found]
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const
const MONTH = String.raw`(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?`
const ORDINAL = "(?:st|nd|rd|th)?"

/** Dates and times as a recap writes them; each names how to tell whether it is inside the range. */
const DATE_FORMS: ReadonlyArray<{
  readonly pattern: RegExp
  readonly inside: (match: RegExpMatchArray, range: DateRange) => boolean
}> = [
  {
    // 2026-12-06, 2026-12-06T21:14:00Z, 2026-12-06 21:14
    pattern: /\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\b/g,
    inside: (m, range) => dayInside(range, Number(m[1]), Number(m[2]), Number(m[3]))
  },
  {
    // December 6, Dec 6th, December 6, 2026
    pattern: new RegExp(String.raw`\b${MONTH}\s+(\d{1,2})${ORDINAL}(?:,?\s+(\d{4}))?\b`, "gi"),
    inside: (m, range) => monthDayInside(range, m[1]!, Number(m[2]), m[3])
  },
  {
    // 6 December, 6th of December 2026
    pattern: new RegExp(String.raw`\b(\d{1,2})${ORDINAL}\s+(?:of\s+)?${MONTH}(?:,?\s+(\d{4}))?\b`, "gi"),
    inside: (m, range) => monthDayInside(range, m[2]!, Number(m[1]), m[3])
  },
  {
    // 21:14, 9:05 pm, 9pm, 9 p.m.
    pattern:
      /\b(\d{1,2})(?::(\d{2}))?(?::\d{2})?\s?([ap])\.?m\.?(?![\p{L}])|\b(\d{1,2}):(\d{2})(?::\d{2})?\b/giu,
    inside: (m, range) => {
      const twelve = m[3] !== undefined
      const hour = Number(twelve ? m[1] : m[4])
      const minute = Number(twelve ? (m[2] ?? 0) : m[5])
      if (minute > 59) return false
      if (twelve) {
        if (hour < 1 || hour > 12) return false
        const pm = m[3]!.toLowerCase() === "p"
        return timeInside(range, (hour % 12) + (pm ? 12 : 0), minute)
      }
      return hour <= 23 && timeInside(range, hour, minute)
    }
  }
]

/** Local YYYY-MM-DD of the range's ends, in its zone. */
const localDays = (range: DateRange) => {
  const local = LocalTime.day(range.timezone)
  return { first: local(range.from), last: local(range.to) }
}

const pad = (n: number) => String(n).padStart(2, "0")

const dayInside = (range: DateRange, year: number, month: number, day: number) => {
  if (month < 1 || month > 12 || day < 1 || day > 31) return false
  const { first, last } = localDays(range)
  const date = `${year}-${pad(month)}-${pad(day)}`
  return date >= first && date <= last
}

/** A day written without its year is inside when it is in any year the range touches. */
const monthDayInside = (range: DateRange, monthName: string, day: number, year: string | undefined) => {
  const month = MONTHS.indexOf(monthName.slice(0, 3).toLowerCase() as (typeof MONTHS)[number]) + 1
  if (year !== undefined) return dayInside(range, Number(year), month, day)
  const { first, last } = localDays(range)
  for (let y = Number(first.slice(0, 4)); y <= Number(last.slice(0, 4)); y++) {
    if (dayInside(range, y, month, day)) return true
  }
  return false
}

/** A time of day is inside a range of a day or more; in a shorter one, between its local ends. */
const timeInside = (range: DateRange, hour: number, minute: number) => {
  if (range.to.getTime() - range.from.getTime() >= 24 * 3_600_000) return true
  const local = LocalTime.clock(range.timezone)
  const start = local(range.from)
  const end = local(range.to)
  const time = `${pad(hour)}:${pad(minute)}`
  return start <= end ? time >= start && time <= end : time >= start || time <= end
}

/** Numbers as text writes them: 2,340 · 45.7% · 1.2k · 3M. A sign is not part of the figure. */
const NUMBER = /(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:(\s?%)|([kKM])(?![\p{L}\d]))?/gu
const LIST_MARKER = /^[ \t]*\d+[.)][ \t]/gm

/** A share under 1 is written as a percentage or with decimals: "1" is no rounding of 0.53. */
const matches = (written: number, decimals: number, scale: number, percent: boolean, value: number) => {
  const candidates = percent ? [value * 100, value] : [value / scale]
  return candidates.some(
    (candidate) =>
      Number(candidate.toFixed(decimals)) === written &&
      (decimals > 0 || Math.abs(candidate) >= 1 || candidate === 0)
  )
}

/** The numbers in `text` that no tool result (and no date in the range) accounts for. */
export const check = (
  text: string,
  results: ReadonlyArray<unknown>,
  range: DateRange | null
): GroundingCheck => {
  const allowed = toolNumbers(results)
  // Dates and list markers are blanked out (same length), so the positions of the rest stay true.
  let scan = text.replace(LIST_MARKER, (marker) => " ".repeat(marker.length))
  const unmatched: Array<NumberToken> = []
  for (const form of DATE_FORMS) {
    scan = scan.replace(form.pattern, (...args) => {
      const match = args.slice(0, -2) as unknown as RegExpMatchArray
      const whole = args[0] as string
      return range !== null && form.inside(match, range) ? " ".repeat(whole.length) : whole
    })
  }
  for (const match of scan.matchAll(NUMBER)) {
    const written = Number(`${match[1]!.replaceAll(",", "")}${match[2] === undefined ? "" : `.${match[2]}`}`)
    const decimals = match[2]?.length ?? 0
    const suffix = match[4]
    const scale = suffix === undefined ? 1 : suffix.toLowerCase() === "k" ? 1_000 : 1_000_000
    const percent = match[3] !== undefined
    if (!allowed.some((value) => matches(written, decimals, scale, percent, value))) {
      unmatched.push({ text: match[0].trim(), index: match.index })
    }
  }
  return { grounded: unmatched.length === 0, unmatched }
}

export const UNVERIFIED = "[unverified]"

/** The text with each unmatched number followed by `[unverified]`. */
export const mark = (text: string, unmatched: ReadonlyArray<NumberToken>): string => {
  let marked = text
  for (const token of [...unmatched].sort((a, b) => b.index - a.index)) {
    const end = token.index + token.text.length
    marked = `${marked.slice(0, end)} ${UNVERIFIED}${marked.slice(end)}`
  }
  return marked
}
