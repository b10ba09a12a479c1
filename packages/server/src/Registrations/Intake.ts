import * as SqlClient from "@effect/sql/SqlClient"
import type { OrganizationId } from "@tapline/domain"
import { Effect, Either, Option } from "effect"
import { Changes } from "../Admin/Changes.js"
import type { ReceivedMessage } from "../Brokers/Broker.js"
import { auditedChange, checkLocale, checkPhone } from "../Registrants/Fields.js"
import { RegistrantRepository } from "../Registrants/RegistrantRepository.js"
import * as Registrations from "../Streams/Registrations.js"
import { Metrics } from "../Telemetry/Metrics.js"
import { RegistrationRepository } from "./RegistrationRepository.js"

/*
 * One message of a registration source, applied: decode → the organisation check → one transaction holding
 * the message id (a redelivery finds it and does nothing), the band's change and its audit entry (with the
 * outbox and change hooks, as every change), or the dead letter; a new band is projected into the redirect's
 * read model after the commit. The handler returns only after the commit, and the broker port acknowledges
 * only after the handler returned: a crash between the two redelivers a message that is then a no-op. A
 * database failure fails the handler, so the broker delivers the message again later; it is never a dead
 * letter.
 */

/** Whose registrations a source may apply, and its key in the message log and the dead letters. */
export interface SourceScope {
  /** `source:<id>` for an organisation's source, `platform:<name>` for one from config. */
  readonly key: string
  readonly allows: (owner: { readonly organizationId: OrganizationId; readonly slug: string }) => boolean
}

// The message's schema checked both already (Streams/Registrations.ts): these only normalise.
const checkedPhone = (phone: string) => {
  const checked = checkPhone(phone)
  return checked.ok ? checked.value : phone
}
const checkedLocale = (locale: string) => {
  const checked = checkLocale(locale)
  return checked.ok ? checked.value : locale
}

export type Outcome = "registered" | "unregistered" | "duplicate" | "dead letter"

export class Intake extends Effect.Service<Intake>()("@tapline/server/RegistrationIntake", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repository = yield* RegistrationRepository
    const registrants = yield* RegistrantRepository
    const changes = yield* Changes
    // Optional like the jobs' counter: a runtime without metrics (a CLI) still applies registrations.
    const metrics = yield* Effect.serviceOption(Metrics)
    const counted = (outcome: Outcome) =>
      Effect.sync(() => {
        if (Option.isSome(metrics)) metrics.value.registrations.inc({ outcome: outcome.replace(" ", "_") })
      })

    interface Created {
      readonly organizationId: OrganizationId
      readonly eventId: string
      readonly bandId: string
      readonly bandUid: string
    }

    const apply = (
      scope: SourceScope,
      message: ReceivedMessage,
      registration: Registrations.Registration,
      created: Array<Created>
    ) =>
      Effect.gen(function* () {
        const deadLetter = (reason: string) =>
          Effect.as(
            repository.deadLetter({
              sourceKey: scope.key,
              messageId: registration.id,
              reason,
              body: message.body
            }),
            "dead letter" as const
          )
        // First, so that a redelivery stops here; a dead letter is recorded once too.
        if (!(yield* repository.markProcessed(scope.key, registration.id))) return "duplicate" as const
        const { bandUid, eventId } = registration.data
        const owner = yield* repository.eventOwner(eventId)
        if (owner === undefined) return yield* deadLetter(`event ${eventId} does not exist`)
        // The same words whether the event is another tenant's or not allowed: a source learns nothing.
        if (!scope.allows(owner))
          return yield* deadLetter(`event ${eventId} is not one this source may register for`)
        const band = yield* repository.lockBand(eventId, bandUid)
        if (band?.deletedAt) return yield* deadLetter(`band ${bandUid} is in the trash`)
        const actor = { type: "system" as const, id: `registrations:${scope.key}` }
        if (registration.type === Registrations.REGISTERED) {
          const { registrant } = registration.data
          const person = {
            name: registrant.name,
            email: registrant.email,
            ...(registrant.phone === undefined ? {} : { phone: checkedPhone(registrant.phone) }),
            ...(registrant.locale === undefined ? {} : { locale: checkedLocale(registrant.locale) })
          }
          const bandId =
            band === undefined
              ? yield* repository.createBand({ organizationId: owner.organizationId, eventId, bandUid })
              : band.id
          const before = band && { name: band.registrantName, email: band.registrantEmail }
          const registrantId = yield* registrants.upsert(owner.organizationId, bandId, "broker", person)
          const consents = Object.entries(registrant.consent ?? {}).flatMap(([channel, consent]) =>
            consent === undefined
              ? []
              : [
                  {
                    channel: channel as "email" | "sms" | "push",
                    granted: consent.granted,
                    at: new Date(consent.at),
                    wording: consent.wording ?? null
                  }
                ]
          )
          yield* registrants.appendConsents(registrantId, "broker", consents)
          // Never the person's values in the audit: the fields that changed are named "changed".
          yield* changes.record({
            organizationId: owner.organizationId,
            action: "band.registered",
            resourceType: "band",
            resourceId: bandId,
            newValues: {
              ...auditedChange(before ?? null, person, ["name", "email", "phone", "locale"]),
              consents: consents.map((consent) => ({ channel: consent.channel, granted: consent.granted })),
              bandUid,
              eventId,
              messageId: registration.id
            },
            actor
          })
          // A new band is projected into the redirect's read model after the commit (below).
          if (band === undefined)
            created.push({ organizationId: owner.organizationId, eventId, bandId, bandUid })
          return "registered" as const
        }
        // Unregistered: the band row stays (its taps and history are the organisation's); the person goes.
        if (band === undefined) return yield* deadLetter(`band ${bandUid} is not in event ${eventId}`)
        const erased = yield* registrants.eraseByBand(band.id)
        yield* changes.record({
          organizationId: owner.organizationId,
          action: "band.unregistered",
          resourceType: "band",
          resourceId: band.id,
          newValues: { registrantErased: erased.length > 0, bandUid, eventId, messageId: registration.id },
          actor
        })
        return "unregistered" as const
      })

    /** The broker handler of one source. Fails only when the database does (the broker redelivers). */
    const handle =
      (scope: SourceScope) =>
      (message: ReceivedMessage): Effect.Effect<Outcome, unknown> => {
        const decoded = Registrations.decode(message.body)
        const work = Either.isLeft(decoded)
          ? Effect.as(
              repository.deadLetter({
                sourceKey: scope.key,
                messageId: message.id ?? null,
                reason: decoded.left.reason,
                body: message.body
              }),
              "dead letter" as const
            )
          : Effect.suspend(() => {
              const created: Array<Created> = []
              return sql
                .withTransaction(apply(scope, message, decoded.right, created))
                .pipe(
                  Effect.tap(() =>
                    Effect.forEach(created, (band) =>
                      changes.projectNewBands(band.organizationId, band.eventId, [band])
                    )
                  )
                )
            })
        return work.pipe(
          Effect.tap(counted),
          Effect.tap((outcome) =>
            outcome === "dead letter"
              ? Effect.logWarning("a registration went to the dead letters").pipe(
                  Effect.annotateLogs({ source: scope.key })
                )
              : Effect.void
          ),
          Effect.withSpan("Registrations.handle", { attributes: { "registration.source": scope.key } }),
          // The change hooks run their statements on the transaction's client.
          Effect.provideService(SqlClient.SqlClient, sql)
        )
      }

    return { handle }
  }),
  dependencies: [RegistrationRepository.Default, RegistrantRepository.Default, Changes.Default]
}) {}
