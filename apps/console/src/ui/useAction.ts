import { useCallback, useState } from "react"
import { describe } from "../api.js"

/**
 * Changes made from a screen: `run` clears the last error, makes the change, then calls `done` with the API's
 * answer; a failure is kept, in words, in `error`.
 */
export const useAction = () => {
  const [error, setError] = useState<string | null>(null)
  const run = useCallback(<A>(change: () => Promise<A>, done: (answer: A) => void = () => {}) => {
    setError(null)
    change()
      .then(done)
      .catch((failure: unknown) => setError(describe(failure)))
  }, [])
  return { error, run }
}
