import { Effect, Queue } from "effect"

/**
 * Tells this process's journey sender that messages were queued, so it looks at once instead of at its next
 * poll (JOURNEY_POLL_INTERVAL): a message due now waited up to a second for it, and a sender held to its
 * provider's rate never wins that second back while a backlog is queued. The journeys' tap sink wakes it.
 * A sender in another process still finds the messages at its poll.
 */
export class JourneyWake extends Effect.Service<JourneyWake>()("@tapline/server/JourneyWake", {
  effect: Effect.map(Queue.sliding<void>(1), (signals) => ({
    wake: Queue.offer(signals, undefined),
    /** Waits for a wake, at most `millis`; a wake since the last wait answers at once. */
    wait: (millis: number) =>
      millis <= 0
        ? Effect.void
        : Effect.asVoid(Effect.timeout(Queue.take(signals), millis).pipe(Effect.ignore))
  }))
}) {}
