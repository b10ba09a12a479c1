import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { type EventId, NotFound, type OrganizationId, TaplineApi } from "@tapline/domain"
import { Effect, Schedule, Stream } from "effect"
import { requireRole } from "../Auth/Authorization.js"
import { EventRepository } from "../Events/EventRepository.js"
import { LiveCounters } from "../Taps/LiveCounters.js"

const encoder = new TextEncoder()

export const LiveHandlers = HttpApiBuilder.group(TaplineApi, "live", (handlers) =>
  Effect.gen(function* () {
    const counters = yield* LiveCounters
    const events = yield* EventRepository

    /** Counters are keyed by event id alone: first make sure the event is the organisation's. */
    const authorize = (organizationId: OrganizationId, eventId: EventId) =>
      Effect.gen(function* () {
        yield* requireRole(organizationId, "VIEWER")
        const exists = yield* Effect.orDie(events.exists(organizationId, eventId))
        if (!exists) return yield* new NotFound({ resource: "event", id: eventId })
      })

    return handlers
      .handle("summary", ({ path }) =>
        Effect.gen(function* () {
          yield* authorize(path.organizationId, path.eventId)
          const minute = Math.floor(Date.now() / 60_000)
          const [current, previous, uniqueBands] = yield* Effect.all(
            [
              counters.minute(path.eventId, minute),
              counters.minute(path.eventId, minute - 1),
              counters.uniqueBands(path.eventId)
            ],
            { concurrency: "unbounded" }
          )
          return {
            eventId: path.eventId,
            tapsThisMinute: current.taps,
            tapsLastMinute: previous.taps,
            byModeThisMinute: current.byMode,
            uniqueBands
          }
        }).pipe(Effect.catchTag("TapQueueError", (error) => Effect.die(error)))
      )
      .handle("stream", ({ path }) =>
        // Each second, the count of the second that just ended (so it is complete when sent).
        Effect.as(
          authorize(path.organizationId, path.eventId),
          HttpServerResponse.stream(
            Stream.repeatEffectWithSchedule(
              Effect.gen(function* () {
                const second = Math.floor(Date.now() / 1000) - 1
                const [taps] = yield* counters
                  .perSecond(path.eventId, second, 1)
                  .pipe(Effect.orElseSucceed(() => [0]))
                return encoder.encode(`event: taps\ndata: ${JSON.stringify({ second, taps: taps ?? 0 })}\n\n`)
              }),
              Schedule.spaced("1 second")
            ),
            {
              contentType: "text/event-stream",
              headers: { "cache-control": "no-store", "x-accel-buffering": "no" }
            }
          )
        )
      )
  })
)
