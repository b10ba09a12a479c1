import { randomBytes } from "node:crypto"
import { Effect, Layer } from "effect"
import { Push, PushError, type PushFailure, type PushMessage } from "../../src/Push/Push.js"
import { Sms, SmsError, type SmsFailure, type SmsMessage } from "../../src/Sms/Sms.js"

/*
 * Stand-ins for an SMS and a push provider behind their ports, for the journeys' tests: each records what it
 * was given (with the time it was given it, for the rate's windows) and answers as it is told, per recipient.
 * They are the providers' side of the port (hosted services), not Tapline's infrastructure; the providers'
 * own wire formats are the sms and push helpers' contract suites.
 */

export interface Recorded<M> {
  readonly message: M
  readonly at: number
}

/** What the peer answers for a recipient: accept (default), or fail this way. */
export type Answer<F extends string> = "accept" | F

export interface SmsPeer {
  readonly layer: Layer.Layer<Sms>
  readonly sent: Array<Recorded<SmsMessage>>
  /** A number's answer from now on. */
  readonly answer: (to: string, answer: Answer<SmsFailure>) => void
}

/** `idOf`: the provider's id for the n-th accepted message (default: unique ids, as a provider's are). */
export const smsPeer = (provider = "twilio", idOf?: (n: number) => string): SmsPeer => {
  const sent: Array<Recorded<SmsMessage>> = []
  const answers = new Map<string, Answer<SmsFailure>>()
  // Ids unique across peers, as a provider's are (the delivery log's unique index holds them per provider).
  const prefix = randomBytes(8).toString("hex")
  let next = 0
  const layer = Layer.succeed(
    Sms,
    Sms.of({
      provider,
      send: (message) =>
        Effect.suspend(() => {
          const answer = answers.get(message.to) ?? "accept"
          if (answer !== "accept")
            return Effect.fail(new SmsError({ provider, failure: answer, message: `${answer} (test peer)` }))
          sent.push({ message, at: Date.now() })
          next += 1
          return Effect.succeed({
            provider,
            providerMessageId: idOf?.(next) ?? `SM${prefix}${next.toString(16).padStart(16, "0")}`
          })
        })
    })
  )
  return { layer, sent, answer: (to, answer) => void answers.set(to, answer) }
}

export interface PushPeer {
  readonly layer: Layer.Layer<Push>
  readonly sent: Array<Recorded<PushMessage>>
  /** A device's answer (its Web Push endpoint or its token) from now on. */
  readonly answer: (address: string, answer: Answer<PushFailure>) => void
}

const addressOf = (message: PushMessage) =>
  message.subscription.kind === "webpush" ? message.subscription.endpoint : message.subscription.token

export const pushPeer = (provider = "webpush"): PushPeer => {
  const sent: Array<Recorded<PushMessage>> = []
  const answers = new Map<string, Answer<PushFailure>>()
  const prefix = randomBytes(8).toString("hex")
  let next = 0
  const layer = Layer.succeed(
    Push,
    Push.of({
      provider,
      kinds: ["webpush", "fcm", "apns"],
      send: (message) =>
        Effect.suspend(() => {
          const answer = answers.get(addressOf(message)) ?? "accept"
          if (answer !== "accept")
            return Effect.fail(new PushError({ provider, failure: answer, message: `${answer} (test peer)` }))
          sent.push({ message, at: Date.now() })
          return Effect.succeed({ provider, providerMessageId: `push-${prefix}-${++next}` })
        })
    })
  )
  return { layer, sent, answer: (address, answer) => void answers.set(address, answer) }
}

/** No provider configured: the port is there, its provider is "" (what the registries give for an empty list). */
export const smsOff = Layer.succeed(
  Sms,
  Sms.of({
    provider: "",
    send: () => Effect.fail(new SmsError({ provider: "", failure: "permanent", message: "not configured" }))
  })
)
