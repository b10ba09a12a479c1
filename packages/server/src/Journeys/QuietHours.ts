import { DateTime } from "effect"

/** An event's quiet hours: local times ("22:00:00") in its time zone; an end before the start spans midnight. */
export interface QuietHours {
  readonly start: string
  readonly end: string
  readonly timezone: string
}

const minutesOf = (time: string) => {
  const [hours, minutes] = time.split(":")
  return Number(hours) * 60 + Number(minutes)
}

/**
 * When a message due at `due` may go: `due` itself, or the end of the quiet hours it falls in (the same
 * local day's end, or the next day's for hours that span midnight). A start equal to the end is no quiet hours.
 */
export const deferred = (due: Date, quiet: QuietHours | null): Date => {
  if (quiet === null) return due
  const start = minutesOf(quiet.start)
  const end = minutesOf(quiet.end)
  if (start === end) return due
  const zone = DateTime.zoneMakeNamed(quiet.timezone)
  if (zone._tag === "None") return due
  const local = DateTime.unsafeMakeZoned(due, { timeZone: zone.value })
  const parts = DateTime.toParts(local)
  const now = parts.hours * 60 + parts.minutes
  const inside = start < end ? now >= start && now < end : now >= start || now < end
  if (!inside) return due
  // The end is today unless the hours span midnight and we are before it.
  const endsTomorrow = start > end && now >= start
  const day = DateTime.toParts(DateTime.add(local, { days: endsTomorrow ? 1 : 0 }))
  // The end's wall-clock time on that day in the event's zone: its UTC reading, less the zone's offset then.
  const wall = Date.UTC(day.year, day.month - 1, day.day, Math.floor(end / 60), end % 60)
  const offsetAt = (millis: number) =>
    DateTime.zonedOffset(DateTime.unsafeMakeZoned(millis, { timeZone: zone.value }))
  return new Date(wall - offsetAt(wall - offsetAt(wall)))
}
