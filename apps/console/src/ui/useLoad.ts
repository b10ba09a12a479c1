import type { OrganizationId } from "@tapline/domain"
import { type DependencyList, useCallback, useEffect, useState } from "react"
import { call, describe } from "../api.js"

export interface Loaded<A> {
  readonly data: A | null
  readonly error: string | null
  readonly reload: () => void
}

/** Loads on mount and whenever `deps` change; a later answer never overwrites a newer one. */
export const useLoad = <A>(load: () => Promise<A>, deps: DependencyList): Loaded<A> => {
  const [data, setData] = useState<A | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [generation, setGeneration] = useState(0)
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  useEffect(() => {
    let current = true
    setError(null)
    load()
      .then((value) => current && setData(value))
      .catch((failure: unknown) => current && setError(describe(failure)))
    return () => {
      current = false
    }
  }, [...deps, generation])
  const reload = useCallback(() => setGeneration((n) => n + 1), [])
  return { data, error, reload }
}

/**
 * Loads again every two seconds while `pending` (an export being made, a webhook message on its way), and
 * stops when it is not: each answer arms the timer again.
 */
export const useReloadWhile = (pending: boolean, loaded: Loaded<unknown>) => {
  // biome-ignore lint/correctness/useExhaustiveDependencies: each answer arms the timer again while pending
  useEffect(() => {
    if (!pending) return
    const timer = setTimeout(loaded.reload, 2000)
    return () => clearTimeout(timer)
  }, [pending, loaded.data, loaded.reload])
}

/** The organisation's events (not deleted), for pickers and names. */
export const useEvents = (organizationId: OrganizationId) =>
  useLoad(
    () => call((c) => c.events.list({ path: { organizationId }, urlParams: { limit: 500, deleted: false } })),
    [organizationId]
  )
