import { Model } from "@effect/sql"
import { Schema } from "effect"

/** The tap subdomain: a DNS label, lower case. */
export const Slug = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
    message: () => "a slug is 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'"
  }),
  Schema.brand("Slug")
)
export type Slug = typeof Slug.Type

/** The string written on the NFC chip. */
export const BandUid = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9-]{1,64}$/, {
    message: () => "a band id is 1-64 characters of A-Z, a-z, 0-9 and '-'"
  }),
  Schema.brand("BandUid")
)
export type BandUid = typeof BandUid.Type

const isHttpUrl = (value: string): boolean => {
  try {
    const url = new URL(value)
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname.length > 0
  } catch {
    return false
  }
}

/** Tapline only ever redirects to http(s) URLs an admin configured. */
export const HttpUrl = Schema.String.pipe(
  Schema.maxLength(2048),
  Schema.filter(isHttpUrl, { message: () => "an absolute http:// or https:// URL" }),
  Schema.brand("HttpUrl")
)
export type HttpUrl = typeof HttpUrl.Type

const isTimeZone = (value: string): boolean => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value })
    return true
  } catch {
    return false
  }
}

export const TimeZone = Schema.String.pipe(
  Schema.filter(isTimeZone, { message: () => "an IANA time zone such as Europe/Paris" }),
  Schema.brand("TimeZone")
)
export type TimeZone = typeof TimeZone.Type

export const Email = Schema.String.pipe(
  Schema.maxLength(320),
  Schema.pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: () => "an email address" }),
  Schema.brand("Email")
)
export type Email = typeof Email.Type

export const Latitude = Schema.Number.pipe(Schema.between(-90, 90))
export const Longitude = Schema.Number.pipe(Schema.between(-180, 180))

/**
 * A timestamptz column: a `Date` from the driver, an ISO string in JSON, a `DateTime.Utc` in code.
 */
export const Timestamp = Model.Field({
  select: Model.DateTimeFromDate,
  insert: Model.DateTimeFromDate,
  update: Model.DateTimeFromDate,
  json: Schema.DateTimeUtc,
  jsonCreate: Schema.DateTimeUtc,
  jsonUpdate: Schema.DateTimeUtc
})

/** A nullable timestamptz column. */
export const OptionalTimestamp = Model.Field({
  select: Schema.OptionFromNullOr(Model.DateTimeFromDate),
  insert: Schema.OptionFromNullOr(Model.DateTimeFromDate),
  update: Schema.OptionFromNullOr(Model.DateTimeFromDate),
  json: Schema.OptionFromNullOr(Schema.DateTimeUtc),
  jsonCreate: Schema.optionalWith(Schema.DateTimeUtc, { as: "Option", nullable: true }),
  jsonUpdate: Schema.optionalWith(Schema.DateTimeUtc, { as: "Option", nullable: true })
})

/** Soft delete: set when a row goes to the trash, cleared on restore; never written through insert/update. */
export const DeletedAt = Model.Field({
  select: Schema.OptionFromNullOr(Model.DateTimeFromDate),
  json: Schema.OptionFromNullOr(Schema.DateTimeUtc)
})

/** A `date` column: the calendar day as written, with no time zone to shift it. */
export const CalendarDate = Schema.String.pipe(
  Schema.pattern(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, { message: () => "a date as YYYY-MM-DD" }),
  Schema.brand("CalendarDate")
)
export type CalendarDate = typeof CalendarDate.Type
