import { DateTime } from "effect"

/**
 * The columns a PATCH body sets: absent fields are left out, `null` clears, DateTimes become Dates for the
 * driver. Feed the result to `sql.update`.
 */
export const patchColumns = (payload: object): Record<string, unknown> => {
  const columns: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(payload)) {
    if (value === undefined) continue
    columns[key] = DateTime.isDateTime(value) ? DateTime.toDate(value) : value
  }
  return columns
}
