import { InvalidRequest, type Page } from "@tapline/domain"
import { DateTime, Effect } from "effect"

/** Cursors are opaque to clients: the sort key of the last item, base64url-encoded. */
export const encodeCursor = (key: string) => Buffer.from(key, "utf8").toString("base64url")

const invalid = new InvalidRequest({ message: "cursor: not a cursor this API returned" })

/** The sort key inside a cursor; `check` says whether it has the shape the list sorts by. */
export const decodeCursor = (cursor: string | undefined, check: (key: string) => boolean = isUuid) => {
  if (cursor === undefined) return Effect.succeed(null)
  const key = Buffer.from(cursor, "base64url").toString("utf8")
  return check(key) ? Effect.succeed(key) : Effect.fail(invalid)
}

export const isUuid = (value: string) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)

/**
 * Operators' lists are ordered by a time, then an id: their cursor key is "<ISO time>|<id>". A key whose time
 * does not parse is refused (400, as `listPage`'s check), not handed to PostgreSQL as an invalid date.
 */
export const timeCursorKey = (at: DateTime.DateTime, id: string) => `${DateTime.formatIso(at)}|${id}`

/** `listPage`'s check for a time cursor whose id passes `isId`. */
export const isTimeKey = (isId: (id: string) => boolean) => (key: string) => {
  const [time, id] = splitTimeKey(key)
  return /^\d{4}-/.test(time) && !Number.isNaN(Date.parse(time)) && isId(id)
}

/** The position a checked time cursor key names (none on the first page). */
export const timePosition = (key: string | null) => {
  if (key === null) return undefined
  const [time, id] = splitTimeKey(key)
  return { at: new Date(time), id }
}

const splitTimeKey = (key: string): [string, string] => {
  const bar = key.indexOf("|")
  return bar < 0 ? [key, ""] : [key.slice(0, bar), key.slice(bar + 1)]
}

/** Lists fetch `limit + 1` rows: the extra one says whether there is a next page. */
export const toPage = <A>(rows: ReadonlyArray<A>, limit: number, keyOf: (a: A) => string): Page<A> => {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null }
}

/** What a list endpoint receives: filters, a page size, and the cursor of the previous page (if any). */
export type PageRequest<Filters = {}> = Filters & {
  readonly cursor?: string | undefined
  readonly limit: number
}

/** A page request as repositories take it: the cursor decoded into the sort key it holds (`after`). */
export const pageQuery = <Request extends PageRequest>(
  request: Request,
  check: (key: string) => boolean = isUuid
) => Effect.map(decodeCursor(request.cursor, check), (after) => ({ ...request, after }))

/**
 * One page of a list: the cursor decoded, the rows fetched (a failed fetch is an outage, never an empty
 * page) and decoded, the next cursor made from the last item's sort key.
 */
export const listPage = <Request extends PageRequest, Row, A, E, R>(
  request: Request,
  fetch: (
    query: Request & { readonly after: string | null }
  ) => Effect.Effect<ReadonlyArray<Row>, unknown, R>,
  decode: (row: Row) => Effect.Effect<A, E>,
  keyOf: (item: A) => string,
  check?: (key: string) => boolean
) =>
  Effect.gen(function* () {
    const query = yield* pageQuery(request, check)
    const rows = yield* Effect.orDie(fetch(query))
    return toPage(yield* Effect.forEach(rows, decode), query.limit, keyOf)
  })
