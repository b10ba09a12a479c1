import { Duration, Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Metrics } from "../Telemetry/Metrics.js"
import type { Notification } from "./AlertChannels.js"
import * as AlertChannels from "./AlertChannels.js"
import { type AlertRule, instanceName, rulesOf } from "./AlertRules.js"

type State =
  | { readonly status: "ok" }
  | { readonly status: "pending"; readonly since: number }
  | { readonly status: "firing"; readonly since: number; readonly lastSaid: number }

/** An undelivered notification is tried again at each evaluation for this long, then given up (ERROR). */
const KEEP_TRYING_MS = 60 * 60 * 1000

/**
 * The next state of a rule and what to say: a condition that holds for ALERT_FOR fires once, is said again
 * every ALERT_REPEAT while it holds, and says it recovered once; a blip shorter than ALERT_FOR says nothing.
 */
export const step = (
  state: State,
  firing: boolean,
  now: number,
  options: { readonly holdForMs: number; readonly repeatMs: number }
): { readonly next: State; readonly say: "firing" | "reminder" | "resolved" | null } => {
  if (!firing) {
    return { next: { status: "ok" }, say: state.status === "firing" ? "resolved" : null }
  }
  switch (state.status) {
    case "ok":
      return options.holdForMs <= 0
        ? { next: { status: "firing", since: now, lastSaid: now }, say: "firing" }
        : { next: { status: "pending", since: now }, say: null }
    case "pending":
      return now - state.since >= options.holdForMs
        ? { next: { status: "firing", since: state.since, lastSaid: now }, say: "firing" }
        : { next: state, say: null }
    case "firing":
      return now - state.lastSaid >= options.repeatMs
        ? { next: { ...state, lastSaid: now }, say: "reminder" }
        : { next: state, say: null }
  }
}

/**
 * Evaluates the alert rules every ALERT_INTERVAL and tells the operator's channels when one fires, is still
 * firing (ALERT_REPEAT) or recovers. Each change is logged too (ERROR when firing, INFO when resolved), so an
 * installation without channels still has it in its logs. State is this process's: several workers each
 * judge (and say) the rules about what they run; DESIGN.md §8 and docs/runbook.md.
 */
export const make = (options: { readonly writer: boolean; readonly recorder: boolean }) =>
  Effect.gen(function* () {
    const { alerts, telemetry } = yield* AppConfig
    const rules = yield* rulesOf(options)
    const channels = yield* AlertChannels.make
    const metrics = yield* Metrics
    const instance = instanceName(telemetry.serviceName)
    const timing = {
      holdForMs: Duration.toMillis(alerts.holdFor),
      repeatMs: Duration.toMillis(alerts.repeat)
    }
    const states = new Map<string, State>(rules.map((rule) => [rule.name, { status: "ok" }]))
    let undelivered: Array<{ readonly channel: number; readonly notification: Notification }> = []

    const deliver = Effect.gen(function* () {
      const attempts = undelivered
      undelivered = []
      for (const attempt of attempts) {
        const channel = channels.channels[attempt.channel]!
        const failed = yield* Effect.flip(channels.send(channel, attempt.notification)).pipe(Effect.option)
        if (failed._tag === "None") continue
        const giveUp = Date.now() - attempt.notification.at.getTime() > KEEP_TRYING_MS
        if (!giveUp) undelivered.push(attempt)
        yield* Effect.logError(
          giveUp
            ? "alert could not be delivered for an hour; given up (it is in this log)"
            : "alert could not be delivered; tried again at the next evaluation"
        ).pipe(
          Effect.annotateLogs({
            rule: attempt.notification.rule,
            status: attempt.notification.status,
            channel: failed.value.channel,
            error: failed.value.message
          })
        )
      }
    })

    const evaluate = (rule: AlertRule) =>
      Effect.gen(function* () {
        const observed = yield* rule.observe.pipe(Effect.timeout("10 seconds"), Effect.either)
        // A rule that cannot tell keeps its state: the outage that stops it is another rule's to say.
        if (observed._tag === "Left") return
        const { firing, detail } = observed.right
        const now = Date.now()
        const state = states.get(rule.name)!
        const { next, say } = step(state, firing, now, timing)
        states.set(rule.name, next)
        metrics.alertsFiring.set({ rule: rule.name }, next.status === "firing" ? 1 : 0)
        if (say === null) return
        const notification: Notification = {
          rule: rule.name,
          status: say === "resolved" ? "resolved" : "firing",
          reminder: say === "reminder",
          summary: rule.summary,
          detail,
          instance,
          at: new Date(next.status === "firing" ? next.since : now)
        }
        yield* (
          say === "resolved"
            ? Effect.logInfo(`alert resolved: ${rule.summary}`)
            : Effect.logError(`alert firing: ${rule.summary}; the operator's channels are told`)
        ).pipe(Effect.annotateLogs({ alert: rule.name, detail }))
        for (let channel = 0; channel < channels.channels.length; channel++) {
          undelivered.push({ channel, notification })
        }
      })

    const round = Effect.forEach(rules, evaluate, { discard: true }).pipe(Effect.zipRight(deliver))
    yield* Effect.forkScoped(
      Effect.forever(
        round.pipe(
          Effect.catchAllCause((cause) =>
            Effect.logError("alert evaluation failed; evaluated again at the next interval", cause)
          ),
          Effect.zipRight(Effect.sleep(alerts.interval))
        )
      )
    )
    yield* Effect.logInfo("alert rules evaluated here").pipe(
      Effect.annotateLogs({ rules: rules.map((rule) => rule.name), channels: channels.channels.length })
    )
  })

/** Where ALERTS_ENABLED is true (the default): the rules about what this process runs. */
export const layer = (options: { readonly writer: boolean; readonly recorder: boolean }) =>
  Layer.scopedDiscard(
    Effect.flatMap(AppConfig, ({ alerts }) => (alerts.enabled ? make(options) : Effect.void))
  )
