import * as RateLimiter from "@effect/experimental/RateLimiter"
import { Clock, Duration, Effect, FiberSet, Layer, Option, Ref, Schedule } from "effect"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { Metrics } from "../Telemetry/Metrics.js"
import * as Channel from "./Channel.js"
import * as JourneyConfig from "./JourneyConfig.js"
import { JourneyMessageRepository, type SendContext } from "./JourneyMessageRepository.js"
import * as Templates from "./Templates.js"
import { fromFired } from "./Triggers.js"

/** Why a message was not sent, recorded on its row. */
const skipReason = (context: SendContext): string | undefined => {
  if (!context.enabled) return "journey_disabled"
  if (context.registrantId === null) return "no_registrant"
  if (context.email === null) return "no_address"
  if (context.consent !== true) return "no_consent"
  return undefined
}

export const unsubscribeUrl = (origin: URL, token: string) => new URL(`/u/${token}`, origin).href

/**
 * The journeys' sender. Each round: the scheduled triggers (an event's end, a registration) that fired since
 * their marks are queued, at most once per JOURNEY_POLL_INTERVAL; then due messages are claimed organisation by
 * organisation in turns (JOURNEY_ORGANIZATION_CONCURRENCY each per round), so a large organisation's backlog
 * waits behind one message of each other organisation, never the reverse. Sends start in the claim's order,
 * each after its slot of the provider's rate (JOURNEY_EMAIL_RATE, shared by every sender), at most
 * JOURNEY_SEND_CONCURRENCY in flight; the next round is claimed while the last sends are still in flight, so
 * the rate is used without a gap between rounds. A failed send is retried after JOURNEY_RETRY_DELAYS, then
 * dead. Several senders may run (one per worker): a claim takes rows no other sender holds.
 */
export const make = Effect.gen(function* () {
  const repository = yield* JourneyMessageRepository
  const settings = yield* JourneyConfig.config
  const metrics = yield* Metrics
  const limiter = yield* RateLimiter.RateLimiter
  const origin = publicOrigin(yield* AppConfig)
  const channel = yield* Channel.email
  const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))
  const inFlight = yield* Effect.makeSemaphore(settings.concurrency)
  const sends = yield* FiberSet.make()
  const lastScan = yield* Ref.make(0)
  const limiterDown = yield* Ref.make(false)
  const failures = yield* Ref.make(0)

  /**
   * An outage (PostgreSQL away) is said once, when it starts, and once when a statement succeeds again; every
   * failed round or statement in between is counted (tapline_journey_sender_failures_total).
   */
  const failed = (cause: unknown) =>
    Effect.gen(function* () {
      metrics.journeySenderFailures.inc()
      if ((yield* Ref.getAndUpdate(failures, (n) => n + 1)) === 0)
        yield* Effect.logError(
          "journey sender paused: its statements fail; messages stay queued and it retries, backing off, until they succeed",
          cause
        )
    })
  const recovered = Effect.flatMap(Ref.getAndSet(failures, 0), (n) =>
    n === 0
      ? Effect.void
      : Effect.logInfo("journey sender resumed").pipe(Effect.annotateLogs({ failures: n }))
  )

  /**
   * A statement of a send that has started, retried while PostgreSQL is away (a restart, a failover) instead of
   * abandoning the message: its row would stay `sending` until the lease, and a send the provider accepted but
   * we did not record would go out again then.
   */
  const durable = <A, E, R>(statement: Effect.Effect<A, E, R>) =>
    statement.pipe(
      Effect.tapError(failed),
      Effect.retry(Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("2 seconds")))),
      Effect.tap(() => recovered)
    )

  const counted = (outcome: string) =>
    Effect.sync(() => metrics.journeyMessages.inc({ channel: "email", outcome }))

  /**
   * Waits for this send's slot of the provider's rate: one message every 1/rate seconds (a token bucket of one,
   * its refill rounded up to whole milliseconds), reserved in the order sends start. When the limiter's store
   * (Redis) fails, the send goes unpaced (said once per outage): a provider that then refuses with a 429 is a
   * transient failure, retried, while holding sends back would stall every organisation's messages.
   */
  const pace = Option.match(settings.emailRate, {
    onNone: () => Effect.void,
    onSome: (rate) =>
      limiter
        .consume({
          key: "journeys:email",
          algorithm: "token-bucket",
          limit: 1,
          window: Duration.millis(Math.ceil(1000 / rate)),
          onExceeded: "delay"
        })
        .pipe(
          Effect.flatMap((slot) => Effect.zipRight(Ref.set(limiterDown, false), Effect.sleep(slot.delay))),
          Effect.catchAll((error) =>
            Effect.flatMap(Ref.getAndSet(limiterDown, true), (down) =>
              down
                ? Effect.void
                : Effect.logWarning("journey sends go unpaced: the rate limiter's store failed", error)
            )
          )
        )
  })

  const sendFailed = (context: SendContext, error: { readonly failure: string; readonly message: string }) =>
    Effect.gen(function* () {
      const delay = settings.retryDelays[context.attempts - 1]
      if (error.failure === "permanent" || delay === undefined) {
        yield* durable(repository.dead(context.id, error.message))
        yield* counted("dead")
        return yield* Effect.logWarning("journey message dead: its sends failed").pipe(
          Effect.annotateLogs({ message: context.id, attempts: context.attempts, error: error.message })
        )
      }
      const due = new Date((yield* now).getTime() + Duration.toMillis(delay))
      yield* durable(repository.retry(context.id, error.message, due))
      yield* counted("retried")
    })

  /** Sends one claimed message, unless its claim (`claimedUntil`) ran out meanwhile: then it may be another's. */
  const sendOne = (id: SendContext["id"], claimedUntil: Date) =>
    Effect.gen(function* () {
      const context = yield* durable(repository.context(id))
      if (context === undefined) return
      if ((yield* now) >= claimedUntil) return
      const reason = skipReason(context)
      if (reason !== undefined) {
        yield* durable(repository.skipped(id, reason))
        return yield* counted("skipped")
      }
      const link = unsubscribeUrl(origin, context.unsubscribeToken)
      const content = Templates.render(context.subject, context.body, {
        name: context.name ?? "",
        event: context.eventName,
        windowUrl: context.windowUrl ?? context.currentWindowUrl ?? context.fallbackUrl ?? "",
        unsubscribeUrl: link
      })
      yield* pace
      const result = yield* Effect.either(
        channel.send({ id: context.id, to: context.email!, content, unsubscribeUrl: link })
      )
      if (result._tag === "Left") return yield* sendFailed(context, result.left)
      yield* durable(repository.sent(id, result.right.provider))
      yield* counted("sent")
    }).pipe(Effect.withSpan("JourneySender.send"))

  /** The scheduled triggers that fired since the marks, queued; the marks move once a scan found them all. */
  const scan = (at: Date) =>
    Effect.gen(function* () {
      if (at.getTime() - (yield* Ref.get(lastScan)) < Duration.toMillis(settings.pollInterval)) return
      const { complete, fired } = yield* repository.fired(at, 1000)
      if (fired.length > 0) yield* repository.enqueue(fired.map(fromFired))
      if (complete) yield* repository.markScanned(at)
      yield* Ref.set(lastScan, complete ? at.getTime() : 0)
    })

  /**
   * One round: scheduled triggers queued, then one claim started in its order (each send waits for a place
   * among JOURNEY_SEND_CONCURRENCY). Answers how many it took; the sends may still be in flight.
   */
  const round = Effect.gen(function* () {
    const at = yield* now
    yield* scan(at)
    const ids = yield* repository.claim(at, {
      batch: settings.batch,
      perOrganization: settings.perOrganization,
      leaseSeconds: Duration.toSeconds(settings.lease)
    })
    const claimedUntil = new Date(at.getTime() + Duration.toMillis(settings.lease))
    for (const id of ids) {
      // The place is taken here, in order, and handed to the send, which gives it back however it ends.
      yield* Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          restore(inFlight.take(1)),
          FiberSet.run(sends, Effect.ensuring(sendOne(id, claimedUntil), inFlight.release(1)))
        )
      )
    }
    return ids.length
  })

  /** Waits until no send is in flight. */
  const idle = inFlight.withPermits(settings.concurrency)(Effect.void)

  return {
    round: Effect.tap(round, () => recovered),
    sendOne,
    idle,
    failed,
    backoff: Effect.flatMap(Ref.get(failures), (n) =>
      Effect.sleep(Duration.millis(Math.min(5000, 100 * 2 ** Math.min(Math.max(n - 1, 0), 6))))
    )
  } as const
})

/**
 * The sender's loop, for as long as the layer lives (where JOBS_ENABLED): rounds back to back while there is
 * work, else a pause. When a round fails (PostgreSQL away) it says so once, counts it, and backs off (100 ms
 * doubling to 5 s) until a round succeeds again, which it says too. At a stop, the loop ends first and the
 * sends in flight get a few seconds to finish, so a send the provider took is recorded as sent.
 */
export const layer = Layer.scopedDiscard(
  Effect.gen(function* () {
    // Background work, like the webhook dispatcher: where JOBS_ENABLED is false, nothing is sent from here.
    if (!(yield* AppConfig).jobs.enabled) return
    const sender = yield* make
    const { pollInterval } = yield* JourneyConfig.config
    yield* Effect.addFinalizer(() => Effect.ignore(Effect.timeout(sender.idle, "5 seconds")))
    const loop = sender.round.pipe(
      Effect.flatMap((taken) => (taken > 0 ? Effect.void : Effect.sleep(pollInterval))),
      Effect.catchAllCause((cause) => Effect.zipRight(sender.failed(cause), sender.backoff)),
      Effect.forever
    )
    yield* Effect.forkScoped(loop)
  })
).pipe(Layer.provide([JourneyMessageRepository.Default, RateLimiter.layer]))
