import {
  Conflict,
  type ConsentInput,
  type ConsentSource,
  type CreateRegistrant,
  InvalidRequest,
  MAX_WORDING_LENGTH,
  type OrganizationId,
  type RegistrantExport,
  type RegistrantId,
  type UpdateRegistrant
} from "@tapline/domain"
import { Effect } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { Audit } from "../Audit/Audit.js"
import { BandRepository } from "../Bands/BandRepository.js"
import { auditedChange, checkLocale, checkPhone } from "./Fields.js"
import {
  type NewConsent,
  type RegistrantColumns,
  type RegistrantQuery,
  RegistrantRepository,
  type RegistrantRow
} from "./RegistrantRepository.js"

/** An export lists the band's latest taps up to this many (a band taps a few dozen times an event). */
export const EXPORT_TAPS = 10_000
const EXPORT_AUDIT = 500

const invalid = (message: string) => new InvalidRequest({ message })

/** Phone and locale checked and normalised; name and email as the contract decoded them. */
export const checkColumns = (input: {
  readonly name?: string | null | undefined
  readonly email?: string | null | undefined
  readonly phone?: string | null | undefined
  readonly locale?: string | null | undefined
}): Effect.Effect<RegistrantColumns, InvalidRequest> => {
  const columns: { -readonly [K in keyof RegistrantColumns]: RegistrantColumns[K] } = {}
  if (input.name !== undefined) columns.name = input.name === null ? null : input.name.trim() || null
  if (input.email !== undefined) columns.email = input.email
  if (input.phone !== undefined && input.phone !== null) {
    const phone = checkPhone(input.phone)
    if (!phone.ok) return Effect.fail(invalid(phone.reason))
    columns.phone = phone.value
  } else if (input.phone === null) columns.phone = null
  if (input.locale !== undefined && input.locale !== null) {
    const locale = checkLocale(input.locale)
    if (!locale.ok) return Effect.fail(invalid(locale.reason))
    columns.locale = locale.value
  } else if (input.locale === null) columns.locale = null
  return Effect.succeed(columns)
}

/** Consents as given: one per channel, a granted one with the wording shown, not in the future. */
export const checkConsents = (
  consents: ReadonlyArray<ConsentInput> | undefined,
  now: Date
): Effect.Effect<ReadonlyArray<NewConsent>, InvalidRequest> => {
  const checked: Array<NewConsent> = []
  const seen = new Set<string>()
  for (const [i, consent] of (consents ?? []).entries()) {
    const wording = consent.wording?.trim() || null
    if (seen.has(consent.channel)) return Effect.fail(invalid(`consents.${i}.channel: given twice`))
    seen.add(consent.channel)
    if (consent.granted && wording === null)
      return Effect.fail(invalid(`consents.${i}.wording: the text shown is required when consent is granted`))
    if (wording !== null && wording.length > MAX_WORDING_LENGTH)
      return Effect.fail(invalid(`consents.${i}.wording: at most ${MAX_WORDING_LENGTH} characters`))
    const at = consent.at ?? now
    if (at.getTime() > now.getTime() + 5 * 60_000)
      return Effect.fail(invalid(`consents.${i}.at: in the future`))
    checked.push({ channel: consent.channel, granted: consent.granted, at, wording })
  }
  return Effect.succeed(checked)
}

/** What the audit keeps of consents: the channel and the choice, never the person's data. */
const auditedConsents = (consents: ReadonlyArray<NewConsent>) =>
  consents.map((consent) => ({ channel: consent.channel, granted: consent.granted }))

/**
 * Registrants of an organisation's bands (personal data). Authorisation is the caller's. Audit entries never
 * hold a personal value: a field that changed is recorded as "changed" (docs/decisions.md).
 */
export class Registrants extends Effect.Service<Registrants>()("@tapline/server/Registrants", {
  effect: Effect.gen(function* () {
    const repository = yield* RegistrantRepository
    const bands = yield* BandRepository
    const changes = yield* Changes
    const audit = yield* Audit

    const found = (organizationId: OrganizationId, id: RegistrantId, lock = false) =>
      changes.found("registrant", id, repository.find(organizationId, id, { lock }))

    const list = Effect.fn("Registrants.list")(function* (
      organizationId: OrganizationId,
      request: PageRequest<Omit<RegistrantQuery, "after" | "limit">>
    ) {
      return yield* listPage(
        request,
        (query) => repository.list(organizationId, query),
        Effect.succeed<RegistrantRow>,
        (registrant) => registrant.id
      )
    })

    const get = Effect.fn("Registrants.get")(function* (organizationId: OrganizationId, id: RegistrantId) {
      return yield* found(organizationId, id)
    })

    const create = Effect.fn("Registrants.create")(function* (
      organizationId: OrganizationId,
      input: typeof CreateRegistrant.Type,
      source: ConsentSource = "api"
    ) {
      const columns = yield* checkColumns(input)
      const consents = yield* checkConsents(input.consents, new Date())
      const id = yield* changes.transact(
        Effect.gen(function* () {
          yield* bands.lock(organizationId, input.bandId)
          const band = yield* changes.found("band", input.bandId, bands.find(organizationId, input.bandId))
          if ((yield* Effect.orDie(repository.findByBand(band.id as string))) !== undefined)
            return yield* new Conflict({ message: "bandId: the band has a registrant already" })
          const id = yield* repository.upsert(organizationId, input.bandId, source, columns)
          yield* repository.appendConsents(id, source, consents)
          yield* changes.record({
            organizationId,
            action: "registrant.create",
            resourceType: "registrant",
            resourceId: id,
            newValues: {
              bandId: input.bandId,
              source,
              ...auditedChange(null, columns),
              consents: auditedConsents(consents)
            }
          })
          return id
        })
      )
      return yield* found(organizationId, id)
    })

    const update = Effect.fn("Registrants.update")(function* (
      organizationId: OrganizationId,
      id: RegistrantId,
      input: typeof UpdateRegistrant.Type,
      source: ConsentSource = "api"
    ) {
      const columns = yield* checkColumns(input)
      const consents = yield* checkConsents(input.consents, new Date())
      yield* changes.transact(
        Effect.gen(function* () {
          const before = yield* found(organizationId, id, true)
          const changed = auditedChange(before, { ...before, ...columns })
          if (Object.keys(changed).length === 0 && consents.length === 0) return
          if (Object.keys(columns).length > 0) yield* repository.update(id, columns)
          yield* repository.appendConsents(id, source, consents)
          yield* changes.record({
            organizationId,
            action: "registrant.update",
            resourceType: "registrant",
            resourceId: id,
            newValues: { bandId: before.bandId, ...changed, consents: auditedConsents(consents) }
          })
        })
      )
      return yield* found(organizationId, id)
    })

    /**
     * Erases the person: the row and its consent history go; the band, its taps and every aggregate stay.
     * The entry says which band lost its registrant, nothing of the person.
     */
    const erase = Effect.fn("Registrants.erase")(function* (
      organizationId: OrganizationId,
      id: RegistrantId,
      reason: "request" | "retention" = "request"
    ) {
      yield* changes.transact(
        Effect.gen(function* () {
          const before = yield* found(organizationId, id, true)
          yield* repository.erase(id)
          yield* changes.record({
            organizationId,
            action: "registrant.erase",
            resourceType: "registrant",
            resourceId: id,
            newValues: { bandId: before.bandId, eventId: before.eventId, reason }
          })
        })
      )
    })

    /** Everything Tapline holds of the person, as one document. */
    const exportOne = Effect.fn("Registrants.export")(function* (
      organizationId: OrganizationId,
      id: RegistrantId
    ) {
      const registrant = yield* found(organizationId, id)
      const consentHistory = yield* Effect.orDie(repository.consentHistory(id))
      const eventName = yield* Effect.orDie(repository.bandOf(registrant.bandId))
      const taps = yield* Effect.orDie(repository.taps(organizationId, registrant.bandId, EXPORT_TAPS))
      const entries = yield* audit.list(organizationId, {
        resourceType: "registrant",
        resourceId: id,
        limit: EXPORT_AUDIT
      })
      return {
        exportedAt: new Date(),
        registrant,
        consentHistory,
        band: {
          id: registrant.bandId,
          bandUid: registrant.bandUid,
          eventId: registrant.eventId,
          eventName
        },
        taps,
        audit: entries.items
      } satisfies typeof RegistrantExport.Type
    })

    return { list, get, create, update, erase, export: exportOne } as const
  }),
  dependencies: [RegistrantRepository.Default, BandRepository.Default]
}) {}
