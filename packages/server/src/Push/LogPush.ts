import { Effect, Layer } from "effect"
import { Push } from "./Push.js"
import type { SharedSettings } from "./PushConfig.js"

/**
 * Development provider: logs the kind and title instead of sending, for every kind of subscription. The body
 * goes to DEBUG only and the subscription never (its endpoint or token addresses one person's device).
 */
export const make = Push.of({
  provider: "log",
  kinds: ["webpush", "fcm", "apns"],
  send: (message) =>
    Effect.logInfo("push (log provider, not sent)").pipe(
      Effect.annotateLogs({ kind: message.subscription.kind, title: message.title }),
      Effect.zipRight(Effect.logDebug(message.body)),
      Effect.as({ provider: "log" })
    )
})

export const layer = Layer.succeed(Push, make)

/** The log provider has no settings of its own. */
export const fromConfig = (_shared: SharedSettings) => Effect.succeed(make)

export const layerConfig = (_shared: SharedSettings) => layer
