import * as Model from "@effect/sql/Model"
import { DateTime, ParseResult, Schema } from "effect"
import { hasControlCharacters } from "./ControlCharacters.js"

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

/**
 * The URL as browsers serialise it (`new URL(x).href`): host in punycode, path, query and fragment
 * percent-encoded, so the stored value is plain ASCII that any HTTP header accepts. Null when not http(s).
 */
export const normalizeHttpUrl = (value: string): string | null => {
  if (hasControlCharacters(value)) return null
  try {
    const url = new URL(value)
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname.length === 0) return null
    return url.href
  } catch {
    return null
  }
}

const MAX_URL_LENGTH = 2048

/**
 * Tapline only ever redirects to http(s) URLs an admin configured. Any such URL is accepted (Unicode hosts
 * and paths too) and decoded to its serialised form; control characters are refused rather than dropped,
 * since the WHATWG parser silently deletes tabs and newlines and the admin would not get what they typed.
 */
export const HttpUrl = Schema.transformOrFail(
  Schema.String.pipe(
    Schema.maxLength(MAX_URL_LENGTH),
    Schema.filter((value) => !hasControlCharacters(value), {
      message: () => "a URL must not contain control characters (CR, LF, tab, NUL, DEL, …)"
    })
  ),
  Schema.String.pipe(
    Schema.maxLength(MAX_URL_LENGTH, { message: () => "a URL of at most 2048 characters once encoded" }),
    Schema.filter((value) => normalizeHttpUrl(value) === value, {
      message: () => "an absolute http:// or https:// URL",
      arbitrary: () => (fc) =>
        fc
          .webUrl({ validSchemes: ["http", "https"], withQueryParameters: true })
          .map((url) => normalizeHttpUrl(url) ?? "https://example.com/")
          .filter((url) => url.length <= MAX_URL_LENGTH)
    }),
    Schema.brand("HttpUrl")
  ),
  {
    strict: true,
    decode: (value, _, ast) => {
      const normalized = normalizeHttpUrl(value)
      return normalized === null
        ? ParseResult.fail(new ParseResult.Type(ast, value, "an absolute http:// or https:// URL"))
        : ParseResult.succeed(normalized)
    },
    encode: ParseResult.succeed
  }
).annotations({ identifier: "HttpUrl", description: "an absolute http(s) URL, stored in serialised form" })
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
  Schema.filter(isTimeZone, {
    message: () => "an IANA time zone such as Europe/Paris",
    arbitrary: () => (fc) =>
      fc.constantFrom("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Pacific/Auckland")
  }),
  Schema.brand("TimeZone")
)
export type TimeZone = typeof TimeZone.Type

export const Email = Schema.String.pipe(
  Schema.maxLength(320),
  Schema.pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, {
    message: () => "an email address",
    arbitrary: () => (fc) => fc.emailAddress().filter((email) => email.length <= 320)
  }),
  Schema.brand("Email")
)
export type Email = typeof Email.Type

/**
 * A time of day in an event's own zone, "22:00" (what clients send and get back). PostgreSQL's `time` reads back
 * as "22:00:00", which decodes to the same: minutes are the finest grain anything here is scheduled at.
 */
const HoursMinutes = Schema.String.pipe(
  Schema.pattern(/^(?:[01]\d|2[0-3]):[0-5]\d$/, {
    message: () => "a time of day as HH:MM, such as 22:00",
    arbitrary: () => (fc) => fc.constantFrom("00:00", "07:30", "22:00", "23:59")
  })
)
export const LocalTime = Schema.transform(
  Schema.String.pipe(
    Schema.pattern(/^(?:[01]\d|2[0-3]):[0-5]\d(?::00)?$/, {
      message: () => "a time of day as HH:MM, such as 22:00"
    })
  ),
  HoursMinutes,
  { strict: true, decode: (text) => text.slice(0, 5), encode: (time) => time }
)
export type LocalTime = typeof LocalTime.Type

export const Latitude = Schema.Number.pipe(Schema.between(-90, 90))
export const Longitude = Schema.Number.pipe(Schema.between(-180, 180))

const EARLIEST = Date.UTC(1900, 0, 1)
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59)

/**
 * An instant as clients send it (ISO 8601), between 1900 and 9999: wider than any event, narrower than what
 * JavaScript parses (years up to ±275 760), which PostgreSQL could not store.
 */
/**
 * ISO 8601 with a time and an offset. `Schema.DateTimeUtc` alone accepts anything `Date` parses: "1" became
 * 2001-01-01 and "2026-07-01 19:00" the server's local time.
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i
const IsoInstantText = Schema.String.pipe(
  Schema.pattern(ISO_INSTANT, {
    message: () =>
      "an ISO 8601 instant with a time zone, such as 2026-07-01T19:00:00Z or 2026-07-01T21:00:00+02:00"
  })
)

export const Instant = Schema.compose(IsoInstantText, Schema.DateTimeUtc).pipe(
  Schema.filter((instant) => instant.epochMillis >= EARLIEST && instant.epochMillis <= LATEST, {
    message: () => "an instant between 1900-01-01 and 9999-12-31",
    arbitrary: () => (fc) => fc.integer({ min: EARLIEST, max: LATEST }).map((ms) => DateTime.unsafeMake(ms))
  })
)

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
const isCalendarDay = (value: string) => {
  const date = new Date(`${value}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value
}

export const CalendarDate = Schema.String.pipe(
  Schema.pattern(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, { message: () => "a date as YYYY-MM-DD" }),
  // The pattern lets 2026-02-31 through; the calendar does not.
  Schema.filter(isCalendarDay, {
    message: () => "a day that exists in the calendar",
    arbitrary: () => (fc) =>
      fc
        .date({
          min: new Date("1970-01-01T00:00:00Z"),
          max: new Date("2200-12-31T00:00:00Z"),
          noInvalidDate: true
        })
        .map((date) => date.toISOString().slice(0, 10))
  }),
  Schema.brand("CalendarDate")
)
export type CalendarDate = typeof CalendarDate.Type
