import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { AuditEntry } from "./AuditEntry.js"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { BandUid, Email } from "./Fields.js"
import { BandId, EventId, OrganizationId } from "./Ids.js"
import { Page, PageParams } from "./Pagination.js"
import { NoContent, organizationId } from "./Params.js"

/*
 * Registrants (issue 33): the person a band is registered to. Personal data: EDITOR and OWNER read and
 * write it, only an OWNER erases it, a VIEWER sees none of it (a VIEWER still sees a band's registrant
 * name and email on the band, as before; see docs/decisions.md).
 */

export const RegistrantId = Schema.UUID.pipe(Schema.brand("RegistrantId"))
export type RegistrantId = typeof RegistrantId.Type
export const registrantId = HttpApiSchema.param("registrantId", RegistrantId)

export const ConsentChannel = Schema.Literal("email", "sms", "push")
export type ConsentChannel = typeof ConsentChannel.Type
export const RegistrantSource = Schema.Literal("import", "api", "broker", "page", "migrated")
export const ConsentSource = Schema.Literal("import", "api", "broker", "page", "unsubscribe", "sms")
export type ConsentSource = typeof ConsentSource.Type

export const MAX_WORDING_LENGTH = 2000

const RegistrantName = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
/** A BCP 47 language tag such as `en`, `fr-CA` or `zh-Hant-TW`, at most 35 characters. */
export const Locale = Schema.String.pipe(
  Schema.maxLength(35),
  Schema.pattern(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,6}$/, { message: () => "a BCP 47 language tag" })
)
/** An international number (`+` and the country code); the server checks it and stores it in E.164. */
const PhoneInput = Schema.String.pipe(Schema.maxLength(64))

export const ConsentInput = Schema.Struct({
  channel: ConsentChannel,
  granted: Schema.Boolean,
  /** When the person gave or withdrew it; now if absent. */
  at: Schema.optional(Schema.Date),
  /** The text shown to the person when they consented: required when `granted` is true. */
  wording: Schema.optional(Schema.String.pipe(Schema.maxLength(MAX_WORDING_LENGTH)))
})
export type ConsentInput = typeof ConsentInput.Type

export const Consent = Schema.Struct({
  channel: ConsentChannel,
  granted: Schema.Boolean,
  at: Schema.Date,
  source: ConsentSource,
  wording: Schema.NullOr(Schema.String),
  recordedAt: Schema.Date
})
export type Consent = typeof Consent.Type

export const Registrant = Schema.Struct({
  id: RegistrantId,
  organizationId: OrganizationId,
  bandId: BandId,
  bandUid: BandUid,
  eventId: EventId,
  name: Schema.NullOr(Schema.String),
  email: Schema.NullOr(Schema.String),
  phone: Schema.NullOr(Schema.String),
  locale: Schema.NullOr(Schema.String),
  source: RegistrantSource,
  /** The state per channel: the latest consent recorded for it; a channel never asked is absent. */
  consents: Schema.Array(Consent),
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}).annotations({ identifier: "Registrant" })
export type Registrant = typeof Registrant.Type

export const CreateRegistrant = Schema.Struct({
  bandId: BandId,
  name: Schema.optional(RegistrantName),
  email: Schema.optional(Email),
  phone: Schema.optional(PhoneInput),
  locale: Schema.optional(Locale),
  consents: Schema.optional(Schema.Array(ConsentInput).pipe(Schema.maxItems(3)))
}).annotations({
  examples: [
    {
      bandId: "0190b5a0-0000-7000-8000-000000000001",
      name: "Ada Lovelace",
      email: "ada@example.com",
      phone: "+447700900123",
      locale: "en-GB",
      consents: [{ channel: "email", granted: true, wording: "Send me news about the festival." }]
    } as never
  ]
})

/** Absent: unchanged; null: removed. Consents given are appended to the history. */
export const UpdateRegistrant = Schema.Struct({
  name: Schema.optional(Schema.NullOr(RegistrantName)),
  email: Schema.optional(Schema.NullOr(Email)),
  phone: Schema.optional(Schema.NullOr(PhoneInput)),
  locale: Schema.optional(Schema.NullOr(Locale)),
  consents: Schema.optional(Schema.Array(ConsentInput).pipe(Schema.maxItems(3)))
})

export const RegistrantFilters = Schema.Struct({
  ...PageParams.fields,
  eventId: Schema.optional(EventId),
  bandUid: Schema.optional(BandUid),
  /** Part of the name or the email. */
  q: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
  /** Only registrants whose latest consent on this channel is granted. */
  consent: Schema.optional(ConsentChannel)
})

/** Everything Tapline holds of the person (a subject access request). */
export const RegistrantExport = Schema.Struct({
  exportedAt: Schema.Date,
  registrant: Registrant,
  consentHistory: Schema.Array(Consent),
  band: Schema.Struct({ id: BandId, bandUid: BandUid, eventId: EventId, eventName: Schema.String }),
  /** The band's taps: when, and the page each one went to (at most the latest 10 000). */
  taps: Schema.Array(Schema.Struct({ tappedAt: Schema.Date, destinationUrl: Schema.NullOr(Schema.String) })),
  /** The audit entries about the registrant, as recorded (personal values are recorded as "changed"). */
  audit: Schema.Array(AuditEntry)
})

export class RegistrantsApi extends HttpApiGroup.make("registrants")
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/registrants`
      .setUrlParams(RegistrantFilters)
      .addSuccess(Page(Registrant))
  )
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/registrants`
      .setPayload(CreateRegistrant)
      .addSuccess(Registrant, { status: 201 })
  )
  .add(
    HttpApiEndpoint.get(
      "get"
    )`/api/v1/organizations/${organizationId}/registrants/${registrantId}`.addSuccess(Registrant)
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/registrants/${registrantId}`
      .setPayload(UpdateRegistrant)
      .addSuccess(Registrant)
  )
  .add(
    HttpApiEndpoint.del(
      "erase"
    )`/api/v1/organizations/${organizationId}/registrants/${registrantId}`.addSuccess(NoContent)
  )
  .add(
    HttpApiEndpoint.get(
      "export"
    )`/api/v1/organizations/${organizationId}/registrants/${registrantId}/export`.addSuccess(RegistrantExport)
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(InvalidRequest)
  .addError(Conflict)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Registrants")
  .annotate(
    OpenApi.Description,
    "The person a band is registered to: name, email, phone (E.164), locale and consent per channel. " +
      "Personal data: EDITOR and OWNER read and write it; DELETE erases the person (OWNER), the band and its " +
      "taps stay."
  ) {}
