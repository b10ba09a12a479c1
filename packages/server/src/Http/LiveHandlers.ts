import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { type EventId, type LiveCounts, NotFound, type OrganizationId, TaplineApi } from "@tapline/domain"
import { Effect, Ref, Schedule, Stream } from "effect"
import { requireRole } from "../Auth/Authorization.js"
import { EventRepository } from "../Events/EventRepository.js"
import { LiveCounters, type LiveCountersShape } from "../Taps/LiveCounters.js"

const encoder = new TextEncoder()

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

interface Sent {
  /** The last second whose count was sent (epoch seconds). */
  readonly second: number | null
  readonly tapId: string | null
}

/** Seconds sent again on every tick: a batch of taps can land in Redis just after its second was first read. */
const RESEND_SECONDS = 5

/**
 * One tick of the live stream: the counts of the last few seconds (a second still filling is corrected on the
 * next tick) and of every second since the last tick, so none is skipped when ticks drift; this minute's
 * counters; and the taps that arrived since the last tick, oldest first. The pipeline keeps the latest 50 per
 * event, so a burst of thousands per second sends its newest 50 and the counts say the rest. When Redis
 * cannot be read the viewer is told so, not shown zeros.
 */
const liveTick = (counters: LiveCountersShape, eventId: string, sent: Ref.Ref<Sent>) =>
  Effect.gen(function* () {
    const last = yield* Ref.get(sent)
    const now = Date.now()
    const ended = Math.floor(now / 1000) - 1
    const from =
      last.second === null
        ? ended
        : Math.max(Math.min(last.second + 1, ended - RESEND_SECONDS + 1), ended - 59)
    const minute = Math.floor(now / 60_000)
    const [seconds, current, uniqueBands, latest] = yield* Effect.all(
      [
        counters.perSecond(eventId, from, Math.max(0, ended - from + 1)),
        counters.minute(eventId, minute),
        counters.uniqueBands(eventId),
        counters.latest(eventId)
      ],
      { concurrency: "unbounded" }
    )
    const seen = last.tapId === null ? -1 : latest.findIndex((tap) => tap.id === last.tapId)
    const fresh = (seen === -1 ? latest : latest.slice(0, seen)).toReversed()
    yield* Ref.set(sent, {
      second: Math.max(ended, last.second ?? ended),
      tapId: latest[0]?.id ?? last.tapId
    })
    return (
      seconds.map((taps, i) => sse("taps", { second: from + i, taps })).join("") +
      sse("counts", {
        minute,
        taps: current.taps,
        byMode: current.byMode,
        uniqueBands
      } satisfies LiveCounts) +
      fresh.map((tap) => sse("tap", tap)).join("")
    )
  }).pipe(
    Effect.catchTag("TapQueueError", () =>
      Effect.succeed(sse("unavailable", { message: "Live counters cannot be read (Redis); retrying." }))
    )
  )

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
        Effect.as(
          authorize(path.organizationId, path.eventId),
          HttpServerResponse.stream(
            Stream.unwrap(
              Effect.map(Ref.make<Sent>({ second: null, tapId: null }), (sent) =>
                Stream.repeatEffectWithSchedule(
                  Effect.map(liveTick(counters, path.eventId, sent), (text) => encoder.encode(text)),
                  Schedule.spaced("1 second")
                )
              )
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
