import * as SqlClient from "@effect/sql/SqlClient"
import type { OrganizationId } from "@tapline/domain"
import { Clock, Effect, Option } from "effect"
import { Audit } from "../Audit/Audit.js"
import { RegistrantRepository } from "../Registrants/RegistrantRepository.js"
import { Sms } from "../Sms/Sms.js"
import { CallbackRepository, type PhoneRegistrant } from "./CallbackRepository.js"
import { CallbacksConfig } from "./CallbacksConfig.js"
import { type CallbackProvider, normaliseStatus, rank } from "./DeliveryStatus.js"
import { keywordOf } from "./Keywords.js"

/** A delivery-status callback, verified: the provider's message id, its status word and error text. */
export interface StatusCallback {
  readonly provider: CallbackProvider
  /** Unique per callback (with the provider): the replay guard's key. */
  readonly callbackId: string
  readonly providerMessageId: string
  readonly word: string
  readonly detail: string | null
}

/** An inbound SMS, verified: who sent it (E.164) and what it says. */
export interface InboundCallback {
  readonly provider: CallbackProvider
  readonly callbackId: string
  readonly from: string
  readonly text: string
}

export type StatusResult = "applied" | "stale" | "unknown_message" | "unknown_status" | "duplicate"
export type InboundResult = "stop" | "start" | "help" | "ignored" | "duplicate"

/**
 * What a verified callback changes. A delivery status moves its message's `delivery_status` forward; an
 * inbound STOP or START changes SMS consent for every registrant with the phone; HELP is answered. Each
 * callback applies once (the replay guard commits with its change). The routes verify; this trusts its input.
 */
export class SmsCallbacks extends Effect.Service<SmsCallbacks>()("@tapline/server/SmsCallbacks", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repository = yield* CallbackRepository
    const registrants = yield* RegistrantRepository
    const audit = yield* Audit
    const settings = yield* CallbacksConfig
    // The port is provided where an SMS provider is configured; without one, HELP is answered only as TwiML.
    const sms = yield* Effect.serviceOption(Sms)

    const status = Effect.fn("SmsCallbacks.status")(function* (callback: StatusCallback) {
      const normalised = normaliseStatus(callback.provider, callback.word)
      if (normalised === undefined) return "unknown_status" as StatusResult
      return yield* sql
        .withTransaction(
          Effect.gen(function* () {
            if (!(yield* repository.firstSeen(callback.provider, callback.callbackId)))
              return "duplicate" as const
            return yield* repository.applyStatus(
              callback.provider,
              callback.providerMessageId,
              normalised,
              rank(normalised),
              callback.detail
            )
          })
        )
        .pipe(Effect.orDie)
    })

    /**
     * One consent row per registrant whose consent this changes, with its audit entry, as the system (the
     * provider named) acting on the person's texted word.
     */
    const changeConsent = (
      provider: CallbackProvider,
      word: string,
      granted: boolean,
      people: ReadonlyArray<PhoneRegistrant>
    ) =>
      Effect.gen(function* () {
        const at = new Date(yield* Clock.currentTimeMillis)
        for (const person of people) {
          yield* registrants.appendConsents(person.id, "sms", [
            { channel: "sms", granted, at, wording: `Replied ${word} by SMS` }
          ])
          yield* audit.record({
            organizationId: person.organizationId as OrganizationId,
            action: "registrant.update",
            resourceType: "registrant",
            resourceId: person.id,
            newValues: { source: "sms", provider, consents: [{ channel: "sms", granted }] },
            actor: { type: "system", id: `sms:${provider}` }
          })
        }
        return people.length
      })

    const inbound = Effect.fn("SmsCallbacks.inbound")(function* (callback: InboundCallback) {
      const keyword = keywordOf(callback.text)
      const word = callback.text
        .replace(/\s+/g, "")
        .replace(/[.!]+$/, "")
        .toUpperCase()
      const result = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            if (!(yield* repository.firstSeen(callback.provider, callback.callbackId)))
              return "duplicate" as const
            if (keyword === "other") return "ignored" as const
            if (keyword === "help") return "help" as const
            const people = yield* repository.registrantsOfPhone(callback.from)
            // STOP withdraws wherever consent is not already withdrawn (one never given too: the decision is
            // written down). START gives back only what a STOP took: a consent once given whose latest word is
            // an SMS withdrawal. Consent never given, or withdrawn another way (an unsubscribe link, the API), is
            // not granted by a text.
            const affected =
              keyword === "stop"
                ? people.filter((p) => p.granted !== false)
                : people.filter((p) => p.granted === false && p.source === "sms" && p.everGranted)
            yield* changeConsent(callback.provider, word, keyword === "start", affected)
            return keyword
          })
        )
        .pipe(Effect.orDie)
      const reply = result === "help" ? yield* helpText(callback.from) : null
      return { result, reply } as const
    })

    /** The organisation's help text whose journey last texted the phone, else the platform's. */
    const helpText = (phone: string) =>
      Effect.map(Effect.orDie(repository.helpTextOf(phone)), (text) => text ?? settings.helpText)

    /**
     * A reply sent through the Sms port, after the callback was answered: providers time a webhook out in
     * seconds, a send may take longer, and a failed reply must not make the provider deliver the HELP again.
     */
    const replyInBackground = (to: string, text: string) =>
      Option.match(sms, {
        onNone: () =>
          Effect.logWarning("HELP not answered: no SMS provider is configured").pipe(Effect.as(false)),
        onSome: (port) =>
          port.send({ to, text }).pipe(
            Effect.tapError((error) =>
              Effect.logWarning("HELP reply not sent", { provider: error.provider, failure: error.failure })
            ),
            Effect.ignore,
            Effect.forkDaemon,
            Effect.as(true)
          )
      })

    return { status, inbound, replyInBackground } as const
  }),
  dependencies: [CallbackRepository.Default, RegistrantRepository.Default, Audit.Default]
}) {}
