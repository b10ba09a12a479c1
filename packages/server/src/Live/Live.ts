import { type EventId, type LiveCounts, type LiveTap, NotFound, type OrganizationId } from "@tapline/domain"
import { Effect, Ref, Schedule, Stream } from "effect"
import { EventRepository } from "../Events/EventRepository.js"
import { LiveCounters, type LiveCountersShape } from "../Taps/LiveCounters.js"

/** What the live view receives (DESIGN.md §8), a server-sent event each. */
export type LiveMessage =
  | { readonly event: "taps"; readonly data: { readonly second: number; readonly taps: number } }
  | { readonly event: "counts"; readonly data: LiveCounts; readonly id: string }
  | { readonly event: "tap"; readonly data: LiveTap }
  | { readonly event: "unavailable"; readonly data: { readonly message: string } }

/** Where a viewer is: the last second whose count it has, the newest tap it has. */
export interface Sent {
  /** Epoch seconds. */
  readonly second: number | null
  readonly tapId: string | null
}

/**
 * The stream's event id says where the viewer is, so that a reconnect (EventSource sends the last id it saw
 * as `Last-Event-ID`) resumes there: the seconds in between are sent, the taps it had are not sent again.
 */
const positionId = (sent: Sent) => `${sent.second ?? ""}/${sent.tapId ?? ""}`

export const resumeFrom = (lastEventId: string | undefined): Sent => {
  const match = lastEventId === undefined ? null : /^(\d{1,12})\/([0-9a-f-]{36})?$/i.exec(lastEventId)
  return match === null
    ? { second: null, tapId: null }
    : { second: Number(match[1]), tapId: match[2] ?? null }
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
const tick = (counters: LiveCountersShape, eventId: string, sent: Ref.Ref<Sent>) =>
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
    const position: Sent = {
      second: Math.max(ended, last.second ?? ended),
      tapId: latest[0]?.id ?? last.tapId
    }
    yield* Ref.set(sent, position)
    const counts: LiveCounts = { minute, taps: current.taps, byMode: current.byMode, uniqueBands }
    return [
      ...seconds.map((taps, i): LiveMessage => ({ event: "taps", data: { second: from + i, taps } })),
      { event: "counts", data: counts, id: positionId(position) },
      ...fresh.map((tap): LiveMessage => ({ event: "tap", data: tap }))
    ] satisfies ReadonlyArray<LiveMessage>
  }).pipe(
    Effect.catchTag("TapQueueError", () =>
      Effect.succeed<ReadonlyArray<LiveMessage>>([
        { event: "unavailable", data: { message: "Live counters cannot be read (Redis); retrying." } }
      ])
    )
  )

/** An event's taps as they happen, from the pipeline's live counters in Redis (or memory when embedded). */
export class Live extends Effect.Service<Live>()("@tapline/server/Live", {
  effect: Effect.gen(function* () {
    const counters = yield* LiveCounters
    const events = yield* EventRepository

    /** Counters are keyed by event id alone: first make sure the event is the organisation's. */
    const ownEvent = (organizationId: OrganizationId, eventId: EventId) =>
      Effect.flatMap(Effect.orDie(events.exists(organizationId, eventId)), (exists) =>
        exists ? Effect.void : new NotFound({ resource: "event", id: eventId })
      )

    const summary = Effect.fn("Live.summary")(function* (organizationId: OrganizationId, eventId: EventId) {
      yield* ownEvent(organizationId, eventId)
      const minute = Math.floor(Date.now() / 60_000)
      const [current, previous, uniqueBands] = yield* Effect.all(
        [
          counters.minute(eventId, minute),
          counters.minute(eventId, minute - 1),
          counters.uniqueBands(eventId)
        ],
        { concurrency: "unbounded" }
      ).pipe(Effect.orDie)
      return {
        eventId,
        tapsThisMinute: current.taps,
        tapsLastMinute: previous.taps,
        byModeThisMinute: current.byMode,
        uniqueBands
      }
    })

    /** A tick's messages every second, for as long as the viewer stays; from `resume` after a reconnect. */
    const stream = Effect.fn("Live.stream")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      resume: Sent = { second: null, tapId: null }
    ) {
      yield* ownEvent(organizationId, eventId)
      return Stream.unwrap(
        Effect.map(Ref.make<Sent>(resume), (sent) =>
          Stream.repeatEffectWithSchedule(tick(counters, eventId, sent), Schedule.spaced("1 second"))
        )
      )
    })

    return { summary, stream } as const
  }),
  dependencies: [EventRepository.Default]
}) {}
