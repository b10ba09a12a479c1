/*
 * Windows are edited in the event's time zone, whatever the browser's: a `datetime-local` value
 * ("2026-07-01T19:00") is read as a wall-clock time there. Intl knows the zones, so no date library is needed.
 */
const formatters = new Map<string, Intl.DateTimeFormat>()

const formatter = (timeZone: string) => {
  let found = formatters.get(timeZone)
  if (found === undefined) {
    found = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit"
    })
    formatters.set(timeZone, found)
  }
  return found
}

/** How far the zone's wall clock is ahead of UTC at `utcMs`, in milliseconds. */
const offsetAt = (utcMs: number, timeZone: string) => {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(utcMs))
      .map((p) => [p.type, p.value])
  )
  const wall = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second)
  )
  return wall - Math.floor(utcMs / 1000) * 1000
}

/** A `datetime-local` value in `timeZone` → epoch ms; NaN when it is not a date. */
export const zonedToUtc = (local: string, timeZone: string): number => {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(local)) return Number.NaN
  const asUtc = Date.parse(local.length === 16 ? `${local}:00Z` : `${local}Z`)
  if (Number.isNaN(asUtc)) return Number.NaN
  const first = asUtc - offsetAt(asUtc, timeZone)
  // Near a change of offset the first guess can land on the other side of it: correct once.
  return asUtc - offsetAt(first, timeZone)
}

/** Epoch ms → a `datetime-local` value in `timeZone`. */
export const utcToZoned = (utcMs: number, timeZone: string): string =>
  new Date(utcMs + offsetAt(utcMs, timeZone)).toISOString().slice(0, 16)

const readable = new Map<string, Intl.DateTimeFormat>()

/**
 * A short, readable time in `timeZone` on a 24-hour clock ("Jul 4, 20:15"), for tables, timelines and axes (the
 * live list formats 50 per frame).
 */
export const formatIn = (utcMs: number, timeZone: string, withDate = true): string => {
  const key = `${timeZone} ${withDate}`
  let found = readable.get(key)
  if (found === undefined) {
    found = new Intl.DateTimeFormat(undefined, {
      timeZone,
      ...(withDate ? { month: "short", day: "numeric" } : {}),
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23"
    })
    readable.set(key, found)
  }
  return found.format(new Date(utcMs))
}

const DAY = 86_400

/**
 * The x axis's tick labels, in `timeZone` whatever the browser's: hours and minutes ("20:15"), or the day
 * ("Jul 4") when ticks are a day or more apart, or at midnight on a chart of several days.
 */
export const axisLabels = (
  seconds: ReadonlyArray<number>,
  step: number,
  span: number,
  timeZone: string
): Array<string> =>
  seconds.map((s) => {
    const time = formatIn(s * 1000, timeZone, false)
    if (step >= DAY || (span > 1.5 * DAY && time === "00:00"))
      return formatIn(s * 1000, timeZone).split(",")[0]!
    return time
  })
