import type { ConsentChannel, RegistrantId } from "@tapline/domain"
import { Clock, Effect } from "effect"
import { RegistrantRepository } from "../Registrants/RegistrantRepository.js"
import { JourneyMessageRepository } from "./JourneyMessageRepository.js"

const TOKEN = /^[A-Za-z0-9_-]{32}$/

/**
 * Unsubscribing from a journey's message: the link's token names the message, the message its band's
 * registrant, and a consent withdrawal for the message's channel is appended to the registrant's history
 * (source `unsubscribe`), which every later send reads. Idempotent: a second click appends another withdrawal,
 * which changes nothing. Answers whether the token named someone (an erased registrant is no one).
 */
export class Unsubscribes extends Effect.Service<Unsubscribes>()("@tapline/server/Unsubscribes", {
  effect: Effect.gen(function* () {
    const messages = yield* JourneyMessageRepository
    const registrants = yield* RegistrantRepository

    const withdraw = Effect.fn("Unsubscribes.withdraw")(function* (token: string) {
      if (!TOKEN.test(token)) return false
      const found = yield* messages.registrantOfToken(token)
      if (found === undefined) return false
      const at = new Date(yield* Clock.currentTimeMillis)
      yield* registrants.appendConsents(found.registrantId as RegistrantId, "unsubscribe", [
        { channel: found.channel as ConsentChannel, granted: false, at, wording: null }
      ])
      return true
    })

    const known = (token: string) =>
      TOKEN.test(token)
        ? Effect.map(messages.registrantOfToken(token), (found) => found !== undefined)
        : Effect.succeed(false)

    return { withdraw, known } as const
  }),
  dependencies: [JourneyMessageRepository.Default, RegistrantRepository.Default]
}) {}
