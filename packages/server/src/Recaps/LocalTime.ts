/**
 * Dates and times as a recap writes them, in the scope's zone: `2026-12-06`, `21:14`, `2026-12-06 21:14`. One
 * place, because the tools' results, the model's prompt and the grounding check must agree to the character:
 * a time the tools write one way and the check reads another would be an unmatched number.
 */

const parts = (timezone: string, withDay: boolean, withTime: boolean) =>
  new Intl.DateTimeFormat("sv-SE", {
    timeZone: timezone,
    ...(withDay ? { year: "numeric", month: "2-digit", day: "2-digit" } : {}),
    ...(withTime ? { hour: "2-digit", minute: "2-digit", hourCycle: "h23" } : {})
  })

/** `YYYY-MM-DD` in the zone. */
export const day = (timezone: string) => {
  const format = parts(timezone, true, false)
  return (at: Date) => format.format(at)
}

/** `HH:MM` (00–23) in the zone. */
export const clock = (timezone: string) => {
  const format = parts(timezone, false, true)
  return (at: Date) => format.format(at)
}

/** `YYYY-MM-DD HH:MM` in the zone. */
export const dateTime = (timezone: string) => {
  const format = parts(timezone, true, true)
  return (at: Date) => format.format(at)
}
