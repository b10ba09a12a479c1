import { type BandSort, hasControlCharacters, type SortOrder } from "@tapline/domain"
import { isUuid } from "../Admin/Pagination.js"

/**
 * Where a sorted page of bands ends: the last band's sort value (as text; null when it has none) and its id,
 * the tie-break. The cursor also names the sort and order it was made for: a cursor of one order handed to
 * another would silently skip or repeat bands, so it is refused instead.
 */
export interface BandPosition {
  readonly value: string | null
  readonly id: string
}

interface CursorKey {
  readonly sort: BandSort
  readonly order: SortOrder
  readonly value: string | null
  readonly id: string
}

/** The cursor key of the band a page ends with (`listPage` encodes it). */
export const bandCursorKey = (sort: BandSort, order: SortOrder, value: string | null, id: string) =>
  JSON.stringify({ sort, order, value, id } satisfies CursorKey)

/** A value of the kind the sort compares, that PostgreSQL takes as a parameter without failing. */
const valueFits = (sort: BandSort, value: string) => {
  if (hasControlCharacters(value)) return false
  if (sort === "created") return isUuid(value)
  if (sort === "lastTapAt")
    return /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(value) && !Number.isNaN(Date.parse(value))
  return value.length <= 200
}

const parse = (key: string): CursorKey | null => {
  try {
    return JSON.parse(key) as CursorKey
  } catch {
    return null
  }
}

/** `listPage`'s check: the key is one this list made, for this sort and order. */
export const isBandCursorKey = (sort: BandSort, order: SortOrder) => (key: string) => {
  const parsed = parse(key)
  if (parsed === null || typeof parsed !== "object") return false
  return (
    parsed.sort === sort &&
    parsed.order === order &&
    typeof parsed.id === "string" &&
    isUuid(parsed.id) &&
    (parsed.value === null || (typeof parsed.value === "string" && valueFits(sort, parsed.value)))
  )
}

/** The position a checked key names (none on the first page). */
export const bandPosition = (key: string | null): BandPosition | null => {
  if (key === null) return null
  const { id, value } = parse(key)!
  return { value, id }
}
