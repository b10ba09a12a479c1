import { Effect } from "effect"

export type WriterState = "ok" | "failing" | "not_running"

interface Failure {
  readonly since: number
  readonly message: string
}

/**
 * What the tap writer of this process is doing, for readiness and the pipeline endpoint: whether it runs
 * here, and which of its loops (each batch slot, the claimer, the trimmer) are failing and since when.
 * One loop succeeding says nothing of another: the trimmer only needs Redis, a batch needs PostgreSQL.
 */
export const makeStatus = () => {
  let running = false
  const failing = new Map<string, Failure>()
  const state = (): WriterState => (!running ? "not_running" : failing.size === 0 ? "ok" : "failing")
  return {
    started: () => {
      running = true
    },
    /** True when the loop had been failing: it just recovered. */
    succeeded: (loop: string): boolean => failing.delete(loop),
    /** True when this is the first failure of a streak. */
    failed: (loop: string, message: string): boolean => {
      const previous = failing.get(loop)
      failing.set(loop, { since: previous?.since ?? Date.now(), message })
      return previous === undefined
    },
    state,
    snapshot: () => {
      let oldest: Failure | undefined
      for (const failure of failing.values())
        if (oldest === undefined || failure.since < oldest.since) oldest = failure
      return {
        state: state(),
        failingSinceMs: oldest === undefined ? null : Date.now() - oldest.since,
        lastError: oldest?.message ?? null
      }
    }
  }
}

/** A consumer loop's status: the writer's is this service; each sink keeps one of its own (`makeStatus`). */
export type ConsumerStatus = ReturnType<typeof makeStatus>

export class TapWriterStatus extends Effect.Service<TapWriterStatus>()("@tapline/server/TapWriterStatus", {
  sync: makeStatus
}) {}
