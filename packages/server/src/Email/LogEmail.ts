import { Effect, Layer } from "effect"
import { Email } from "./Email.js"
import type { SharedSettings } from "./EmailConfig.js"

/**
 * Development provider: writes who and what to the log instead of sending. The body (which holds links
 * such as invitations) is logged at DEBUG only, so a production log at INFO never carries it.
 */
export const make = Email.of({
  provider: "log",
  send: (message) =>
    Effect.logInfo("email (log provider, not sent)").pipe(
      Effect.annotateLogs({ to: message.to, subject: message.subject }),
      Effect.zipRight(Effect.logDebug(message.text).pipe(Effect.annotateLogs({ to: message.to })))
    )
})

export const layer = Layer.succeed(Email, make)

/** The log provider has no settings of its own, and uses none of the shared ones. */
export const fromConfig = (_shared: SharedSettings) => Effect.succeed(make)

export const layerConfig = (_shared: SharedSettings) => layer
