import * as RateLimiter from "@effect/experimental/RateLimiter"
import { Clock, Duration, Effect, FiberSet, Layer, Option, Ref, Schedule } from "effect"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import type { PushSubscription } from "../Push/Push.js"
import { Metrics } from "../Telemetry/Metrics.js"
import * as Channel from "./Channel.js"
import * as JourneyConfig from "./JourneyConfig.js"
import { type DeviceRow, JourneyMessageRepository, type SendContext } from "./JourneyMessageRepository.js"
import { JourneyWake } from "./JourneyWake.js"
import * as Pacer from "./Pacer.js"
import * as Templates from "./Templates.js"
import { fromFired } from "./Triggers.js"

type ChannelName = "email" | "sms" | "push"

/**
 * Why a message was not sent, recorded on its row: the journey is off, nobody is registered, no provider is
 * configured for the channel (`channel_off`), the registrant has no address on it, or no consent to it (consent
 * is per channel: the latest `registrant_consents` row of the journey's channel). Push devices are looked at
 * when sending: none is `no_push_subscription`.
 */
const skipReason = (
  context: SendContext,
  providerOf: (channel: ChannelName) => string
): string | undefined => {
  if (!context.enabled) return "journey_disabled"
  if (context.registrantId === null) return "no_registrant"
  const channel = channelOf(context)
  if (providerOf(channel) === "") return "channel_off"
  if (channel === "email" && context.email === null) return "no_address"
  if (channel === "sms" && context.phone === null) return "no_phone"
  if (context.consent !== true) return "no_consent"
  return undefined
}

const channelOf = (context: SendContext): ChannelName =>
  context.channel === "sms" || context.channel === "push" ? context.channel : "email"

/** A device row as the Push port names it. */
const subscriptionOf = (device: DeviceRow): PushSubscription =>
  device.kind === "webpush"
    ? {
        kind: "webpush",
        endpoint: device.address,
        keys: { p256dh: device.p256dh ?? "", auth: device.auth ?? "" }
      }
    : { kind: device.kind, token: device.address }

export const unsubscribeUrl = (origin: URL, token: string) => new URL(`/u/${token}`, origin).href

/**
 * The journeys' sender. Each round: the scheduled triggers (an event's end, a registration) that fired since
 * their marks are queued, at most once per JOURNEY_POLL_INTERVAL; then due messages are claimed organisation by
 * organisation in turns (JOURNEY_ORGANIZATION_CONCURRENCY each per round), so a large organisation's backlog
 * waits behind one message of each other organisation, never the reverse. Sends start in the claim's order,
 * each after its slot of its channel's provider rate (JOURNEY_EMAIL_RATE, JOURNEY_SMS_RATE, JOURNEY_PUSH_RATE,
 * shared by every sender), through the channel's port (Email, Sms, Push: Channel.ts), at most
 * JOURNEY_SEND_CONCURRENCY in flight; the next round is claimed while the last sends are still in flight, so
 * the rate is used without a gap between rounds. A failed send is retried after JOURNEY_RETRY_DELAYS, then
 * dead. Several senders may run (one per worker): a claim takes rows no other sender holds.
 */
export const make = Effect.gen(function* () {
  const repository = yield* JourneyMessageRepository
  const settings = yield* JourneyConfig.config
  const metrics = yield* Metrics
  const limiter = yield* RateLimiter.RateLimiter
  const wake = yield* JourneyWake
  const origin = publicOrigin(yield* AppConfig)
  const channels = {
    email: yield* Channel.email,
    sms: yield* Channel.sms,
    push: yield* Channel.push
  } as const
  const providerOf = (channel: ChannelName) => channels[channel].provider
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

  const counted = (channel: ChannelName, outcome: string) =>
    Effect.sync(() => metrics.journeyMessages.inc({ channel, outcome }))

  const storeDown = (error: RateLimiter.RateLimiterError) =>
    Effect.flatMap(Ref.getAndSet(limiterDown, true), (down) =>
      down
        ? Effect.void
        : Effect.logWarning(
            "journey sends are paced by this process alone: the rate limiter's store failed",
            error
          )
    )
  /**
   * Each channel's provider rate (JOURNEY_EMAIL_RATE, JOURNEY_SMS_RATE, JOURNEY_PUSH_RATE: one per provider
   * account, so one key per channel shared by every sender); see Pacer.ts. Unset: as fast as the sends go.
   */
  const paceAt = (channel: ChannelName, rate: Option.Option<number>) =>
    Option.match(rate, {
      onNone: () => Effect.succeed(Effect.void),
      onSome: (rate) =>
        Pacer.make({
          limiter,
          key: `journeys:${channel}`,
          rate,
          onStoreDown: storeDown,
          onStoreUp: Ref.set(limiterDown, false)
        })
    })
  const pace = {
    email: yield* paceAt("email", settings.emailRate),
    sms: yield* paceAt("sms", settings.smsRate),
    push: yield* paceAt("push", settings.pushRate)
  } as const

  const sendFailed = (context: SendContext, error: { readonly failure: string; readonly message: string }) =>
    Effect.gen(function* () {
      const delay = settings.retryDelays[context.attempts - 1]
      if (error.failure === "permanent" || delay === undefined) {
        yield* durable(repository.dead(context.id, error.message))
        yield* counted(channelOf(context), "dead")
        return yield* Effect.logWarning("journey message dead: its sends failed").pipe(
          Effect.annotateLogs({ message: context.id, attempts: context.attempts, error: error.message })
        )
      }
      const due = new Date((yield* now).getTime() + Duration.toMillis(delay))
      yield* durable(repository.retry(context.id, error.message, due))
      yield* counted(channelOf(context), "retried")
    })

  /**
   * A push to each of the registrant's devices, each after its slot of JOURNEY_PUSH_RATE. A device the provider
   * calls `gone` is removed; the message is sent when any device took it (the first one's receipt is
   * recorded). Otherwise the failure is transient when any device's was (the whole message is retried later:
   * none took it, so none gets it twice), else permanent; every device gone leaves no error (nothing to send to).
   */
  const sendToDevices = (
    devices: ReadonlyArray<DeviceRow>,
    message: Omit<Parameters<Channel.ChannelShape<PushSubscription>["send"]>[0], "to">
  ) =>
    Effect.gen(function* () {
      let sent: { readonly provider: string; readonly providerMessageId: string | null } | undefined
      const used: Array<string> = []
      const errors: Array<Channel.ChannelError> = []
      for (const device of devices) {
        yield* pace.push
        const result = yield* Effect.either(channels.push.send({ ...message, to: subscriptionOf(device) }))
        if (result._tag === "Right") {
          sent ??= result.right
          used.push(device.id)
        } else if (result.left.failure === "gone") {
          yield* durable(repository.deviceGone(device.id))
        } else errors.push(result.left)
      }
      if (used.length > 0) yield* durable(repository.deviceUsed(used))
      const transient = errors.find((e) => e.failure === "transient")
      const error =
        errors.length === 0
          ? undefined
          : {
              failure: transient === undefined ? "permanent" : "transient",
              message: errors.map((e) => e.message).join("; ")
            }
      return { sent, error }
    })

  /** Sends one claimed message, unless its claim (`claimedUntil`) ran out meanwhile: then it may be another's. */
  const sendOne = (context: SendContext, claimedUntil: Date) =>
    Effect.gen(function* () {
      const id = context.id
      if ((yield* now) >= claimedUntil) return
      const channel = channelOf(context)
      const skip = (reason: string) =>
        Effect.zipRight(durable(repository.skipped(id, reason)), counted(channel, "skipped"))
      const reason = skipReason(context, providerOf)
      if (reason !== undefined) return yield* skip(reason)
      const link = unsubscribeUrl(origin, context.unsubscribeToken)
      const page = context.windowUrl ?? context.currentWindowUrl ?? context.fallbackUrl ?? ""
      const content = Templates.render(context.subject, context.body, {
        name: context.name ?? "",
        event: context.eventName,
        windowUrl: page,
        unsubscribeUrl: link
      })
      const message = { id: context.id, content, unsubscribeUrl: link, url: page }
      if (channel === "push") {
        const devices = yield* durable(repository.devices(context.registrantId!))
        if (devices.length === 0) return yield* skip("no_push_subscription")
        const outcome = yield* sendToDevices(devices, message)
        if (outcome.sent !== undefined) {
          yield* durable(repository.sent(id, outcome.sent.provider, outcome.sent.providerMessageId))
          return yield* counted(channel, "sent")
        }
        if (outcome.error === undefined) return yield* skip("no_push_subscription")
        return yield* sendFailed(context, outcome.error)
      }
      yield* pace[channel]
      const result = yield* Effect.either(
        channel === "sms"
          ? channels.sms.send({ ...message, to: context.phone! })
          : channels.email.send({ ...message, to: context.email! })
      )
      if (result._tag === "Left") return yield* sendFailed(context, result.left)
      yield* durable(repository.sent(id, result.right.provider, result.right.providerMessageId))
      yield* counted(channel, "sent")
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
    // Claimed: they are this sender's until the lease, so their contexts are read however long PostgreSQL is away.
    const byId = new Map((yield* durable(repository.contexts(ids))).map((context) => [context.id, context]))
    for (const context of ids.flatMap((id) => byId.get(id) ?? [])) {
      // The place is taken here, in order, and handed to the send, which gives it back however it ends.
      yield* Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          restore(inFlight.take(1)),
          FiberSet.run(sends, Effect.ensuring(sendOne(context, claimedUntil), inFlight.release(1)))
        )
      )
    }
    return ids.length
  })

  /** Waits until no send is in flight. */
  const idle = inFlight.withPermits(settings.concurrency)(Effect.void)

  /**
   * After a round that found nothing due: until the earliest queued message falls due, or a wake (this
   * process's tap sink queued messages), at most JOURNEY_POLL_INTERVAL (scheduled triggers, other processes'
   * messages, leases run out).
   */
  const pause = Effect.gen(function* () {
    const due = yield* repository.nextDue
    const poll = Duration.toMillis(settings.pollInterval)
    const until = due === null ? poll : due.getTime() - (yield* Clock.currentTimeMillis)
    // At least 10 ms: a message due but not claimable (clocks apart) must not spin the loop.
    yield* wake.wait(Math.max(10, Math.min(poll, until)))
  })

  return {
    round: Effect.tap(round, () => recovered),
    pause,
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
    yield* Effect.addFinalizer(() => Effect.ignore(Effect.timeout(sender.idle, "5 seconds")))
    const loop = sender.round.pipe(
      Effect.flatMap((taken) => (taken > 0 ? Effect.void : sender.pause)),
      Effect.catchAllCause((cause) => Effect.zipRight(sender.failed(cause), sender.backoff)),
      Effect.forever
    )
    yield* Effect.forkScoped(loop)
  })
).pipe(Layer.provide([JourneyMessageRepository.Default, RateLimiter.layer]))
