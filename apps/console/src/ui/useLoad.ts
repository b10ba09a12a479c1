import { type DependencyList, useCallback, useEffect, useState } from "react"
import { describe } from "../api.js"

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
