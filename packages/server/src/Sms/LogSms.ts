import { randomUUID } from "node:crypto"
import { Effect, Layer } from "effect"
import { Sms } from "./Sms.js"
import type { SharedSettings } from "./SmsConfig.js"
import { prepare } from "./SmsText.js"

/**
 * Development provider: writes who to the log instead of sending (the log's redaction turns the number into
 * `<phone>`), the text at DEBUG only, since a journey's text can carry a link. It refuses what every real
 * provider refuses (a `to` that is not E.164), so development meets the same errors.
 */
export const make = Sms.of({
  provider: "log",
  send: (message) =>
    Effect.gen(function* () {
      const { to, text } = yield* prepare("log", message)
      const providerMessageId = randomUUID()
      yield* Effect.logInfo("sms (log provider, not sent)").pipe(
        Effect.annotateLogs({ to, providerMessageId })
      )
      yield* Effect.logDebug(text).pipe(Effect.annotateLogs({ to }))
      return { provider: "log", providerMessageId }
    })
})

export const layer = Layer.succeed(Sms, make)

/** The log provider has no settings of its own, and uses none of the shared ones. */
export const fromConfig = (_shared: SharedSettings) => Effect.succeed(make)

export const layerConfig = (_shared: SharedSettings) => layer
