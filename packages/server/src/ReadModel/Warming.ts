import { Effect } from "effect"

/**
 * What this process is still loading before it can answer well: readiness answers 503 ("warming") while
 * anything is. A fresh API's first taps were answered as if Redis were down when the hot path still had to
 * read each organisation (issue 27); the balancer now waits until it does not.
 */
export class Warming extends Effect.Service<Warming>()("@tapline/server/Warming", {
  sync: () => {
    const loading = new Set<string>()
    return {
      /** Marks `what` as loading; the returned effect marks it done. */
      begin: (what: string) => {
        loading.add(what)
        return Effect.sync(() => {
          loading.delete(what)
        })
      },
      pending: (): ReadonlyArray<string> => [...loading]
    }
  }
}) {}
