import { Effect } from "effect"

/**
 * Whether this process has been asked to stop. From then on readiness answers 503 while requests are still
 * served (SHUTDOWN_DRAIN_DELAY), so a balancer's health checks take it out of rotation before its listener
 * closes: closing first is what turned a rolling restart into resets and 502s.
 */
export class Draining extends Effect.Service<Draining>()("@tapline/server/Draining", {
  sync: () => {
    let draining = false
    return {
      begin: () => {
        draining = true
      },
      active: () => draining
    }
  }
}) {}
