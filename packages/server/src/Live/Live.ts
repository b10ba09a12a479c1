import {
  CurrentPrincipal,
  type EventId,
  type LiveCounts,
  type LiveTap,
  NotFound,
  type OrganizationId,
  type Principal,
  TooManyRequests
} from "@tapline/domain"
import { Effect, Either, Option, Ref, Schedule, Stream } from "effect"
import { requireRole } from "../Auth/Authorization.js"
import { Standing } from "../Auth/Standing.js"
import { AppConfig } from "../Config/AppConfig.js"
import { EventRepository } from "../Events/EventRepository.js"
import { Quotas } from "../Quotas/Quotas.js"
import { LiveCounters, type LiveCountersShape } from "../Taps/LiveCounters.js"
import { type Lease, StreamLeases } from "./StreamLeases.js"

/** What the live view receives (DESIGN.md §8), a server-sent event each. */
export type LiveMessage =
  | { readonly event: "taps"; readonly data: { readonly second: number; readonly taps: number } }
  | { readonly event: "counts"; readonly data: LiveCounts; readonly id: string }
  | { readonly event: "tap"; readonly data: LiveTap }
  | { readonly event: "unavailable"; readonly data: { readonly message: string } }
  | { readonly event: "ended"; readonly data: { readonly message: string } }

/** The stream's last message when the caller's access ended while it was open. */
const ended: LiveMessage = {
  event: "ended",
  data: { message: "access to this event ended (credential revoked or expired, or role removed)" }
}

/** Who may watch: every member. */
const MINIMUM = "VIEWER" as const

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
    const standing = yield* Standing
    const leases = yield* StreamLeases
    const quotas = yield* Quotas
    const { live } = yield* AppConfig

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

    /**
     * Whether the caller still may watch: its credential and role re-read (Standing). A check that cannot
     * be made (the database is down) ends the stream too: access is not assumed; EventSource reconnects.
     */
    const stillAllowed = (principal: Principal, organizationId: OrganizationId) =>
      standing.now(principal, organizationId).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.succeed(false),
            onSome: (now) =>
              Effect.isSuccess(
                Effect.provideService(requireRole(organizationId, MINIMUM), CurrentPrincipal, now)
              )
          })
        ),
        Effect.catchTag("SqlError", (error) =>
          Effect.as(Effect.logWarning("live stream: access could not be checked; ending it", error), false)
        )
      )

    /** One of the caller's `LIVE_STREAMS_PER_PRINCIPAL` places, or 429 until the soonest may free up. */
    const lease = (principal: Principal) =>
      leases.acquire(`${principal.actorType}:${principal.actorId}`, live.streamsPerPrincipal).pipe(
        Effect.orDie,
        Effect.flatMap(
          Either.match({
            onRight: Effect.succeed,
            onLeft: (millis) =>
              Effect.fail(
                new TooManyRequests({
                  message: `at most ${live.streamsPerPrincipal} live streams may be open at once per API key or user`,
                  retryAfterSeconds: Math.max(1, Math.ceil(millis / 1000))
                })
              )
          })
        )
      )

    /**
     * A tick's messages every second, for as long as the viewer stays and may: before each tick the caller's
     * access is checked again, and the stream ends (with an `ended` message) once it no longer holds, so a
     * revoked key, a signed-out session or a removed member sees at most the tick already under way. The
     * stream holds one of the caller's leases from here until it ends or the client goes.
     */
    const stream = Effect.fn("Live.stream")(function* (
      principal: Principal,
      organizationId: OrganizationId,
      eventId: EventId,
      resume: Sent = { second: null, tapId: null }
    ) {
      yield* ownEvent(organizationId, eventId)
      yield* quotas.take("liveStreams", organizationId)
      const held: Lease = yield* lease(principal)
      const step = (sent: Ref.Ref<Sent>) =>
        Effect.flatMap(stillAllowed(principal, organizationId), (allowed) =>
          allowed
            ? // A lease not refreshed (Redis down) lapses; the stream carries on, as its counters do.
              Effect.zipRight(Effect.ignore(leases.refresh(held)), tick(counters, eventId, sent))
            : Effect.succeed<ReadonlyArray<LiveMessage>>([ended])
        )
      return Stream.unwrap(
        Effect.map(Ref.make<Sent>(resume), (sent) =>
          Stream.repeatEffectWithSchedule(step(sent), Schedule.spaced("1 second"))
        )
      ).pipe(
        Stream.takeUntil((messages) => messages[0] === ended),
        Stream.ensuring(Effect.ignore(leases.release(held)))
      )
    })

    return { summary, stream } as const
  }),
  dependencies: [EventRepository.Default, Standing.Default, Quotas.Default]
}) {}
