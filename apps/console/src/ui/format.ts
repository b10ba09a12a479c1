import { DateTime } from "effect"

/** A calendar day, `2026-07-04`. */
export const day = (at: DateTime.Utc) => DateTime.formatIso(at).slice(0, 10)

/** A moment to the second in UTC, `2026-07-04 19:30:00`; a dash for none. */
export const when = (at: DateTime.Utc | null) =>
  at === null ? "—" : DateTime.formatIso(at).slice(0, 19).replace("T", " ")
