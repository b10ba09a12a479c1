import { type DependencyList, useCallback, useState } from "react"
import { describe } from "../api.js"
import { useLoad } from "./useLoad.js"

export interface Paged<A> {
  readonly items: ReadonlyArray<A> | null
  readonly error: string | null
  /** Null on the last page. */
  readonly more: (() => void) | null
  readonly reload: () => void
}

/**
 * A cursor-paged list (the API's `{ items, nextCursor }`): the first page whenever `deps` change, and the next
 * page appended on `more`. A change of `deps` starts again from the first page.
 */
export const usePaged = <A>(
  page: (
    cursor: string | undefined
  ) => Promise<{ readonly items: ReadonlyArray<A>; readonly nextCursor: string | null }>,
  deps: DependencyList
): Paged<A> => {
  const [extra, setExtra] = useState<{ items: ReadonlyArray<A>; cursor: string | null } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const first = useLoad(() => {
    setExtra(null)
    return page(undefined)
  }, deps)
  const cursor = extra === null ? (first.data?.nextCursor ?? null) : extra.cursor
  const more = useCallback(() => {
    if (cursor === null) return
    setError(null)
    page(cursor)
      .then((next) => setExtra({ items: [...(extra?.items ?? []), ...next.items], cursor: next.nextCursor }))
      .catch((failure: unknown) => setError(describe(failure)))
  }, [cursor, extra, page])
  return {
    items: first.data === null ? null : [...first.data.items, ...(extra?.items ?? [])],
    error: first.error ?? error,
    more: cursor === null ? null : more,
    reload: first.reload
  }
}
