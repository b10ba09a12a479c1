import { BandUid, Email, hasControlCharacters, stripControlCharacters } from "@tapline/domain"
import { Data, Either, ParseResult, Schema } from "effect"
import { checkLocale, checkPhone } from "../Registrants/Fields.js"
import { RFC3339 } from "./Payloads.js"

/*
 * Registrations in: the `band.registered` and `band.unregistered` CloudEvents a ticketing system publishes,
 * in the structured JSON format. `decode` turns a received body into a typed registration or an
 * InvalidRegistration whose reason goes to the dead letter as it is: short, one line, never the whole value
 * it refused (a 1 MB name is reported by its length, not echoed).
 */

/** Larger bodies are refused unread: a registration is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024
/** JSON nested deeper than this is refused before decoding; a registration is three levels deep. */
export const MAX_DEPTH = 16
export const MAX_NAME_LENGTH = 200

export const REGISTERED = "tapline.band.registered"
export const UNREGISTERED = "tapline.band.unregistered"

export class InvalidRegistration extends Data.TaggedError("InvalidRegistration")<{
  /** Fit for a dead letter and the operator reading it: one line, at most MAX_REASON characters. */
  readonly reason: string
}> {}

const MAX_REASON = 500

// A lone UTF-16 surrogate cannot be stored as text: the encoder would silently replace it.
const LONE_SURROGATE = /\p{Cs}/u

/** Text of a CloudEvent attribute or a registrant: not empty, bounded, no control characters. */
const Text = (what: string, max: number) =>
  Schema.String.pipe(
    Schema.filter((value) => value.trim().length > 0, { message: () => `${what} is empty` }),
    Schema.filter((value) => value.length <= max, {
      message: (issue) => `${what} is ${String(issue.actual).length} characters, at most ${max} allowed`
    }),
    Schema.filter((value) => !hasControlCharacters(value), {
      message: () => `${what} holds control characters (NUL, CR, LF, tab, DEL, …)`
    }),
    Schema.filter((value) => !LONE_SURROGATE.test(value), {
      message: () => `${what} is not valid Unicode (a lone surrogate)`
    })
  )

const EventId = Schema.UUID.annotations({ message: () => "an event id (a UUID)" })
const Uid = BandUid.annotations({ message: () => "a band uid: 1-64 characters of A-Z, a-z, 0-9 and '-'" })
const RegistrantEmail = Schema.compose(
  Text("the email", 320),
  Email.annotations({ message: () => "an email address" })
)

const RegistrantPhone = Text("the phone", 32).pipe(
  Schema.filter((value) => {
    const checked = checkPhone(value, "the phone")
    return checked.ok || checked.reason
  })
)
const RegistrantLocale = Text("the locale", 35).pipe(
  Schema.filter((value) => {
    const checked = checkLocale(value, "the locale")
    return checked.ok || checked.reason
  })
)

/** A consent as the ticketing system collected it: the choice, when, and the text the person was shown. */
const ChannelConsent = Schema.Struct({
  granted: Schema.Boolean,
  at: Schema.String.pipe(Schema.pattern(RFC3339, { message: () => "at must be an RFC 3339 instant" })),
  wording: Schema.optional(Text("the wording", 2000))
}).pipe(
  Schema.filter(
    (consent) => !consent.granted || consent.wording !== undefined || "wording is required when granted"
  )
)

export const Registrant = Schema.Struct({
  name: Text("the name", MAX_NAME_LENGTH),
  email: RegistrantEmail,
  /** International format (`+` and the country code); stored in E.164. */
  phone: Schema.optional(RegistrantPhone),
  /** A BCP 47 language tag, such as `en-GB`. */
  locale: Schema.optional(RegistrantLocale),
  consent: Schema.optional(
    Schema.Struct({
      email: Schema.optional(ChannelConsent),
      sms: Schema.optional(ChannelConsent),
      push: Schema.optional(ChannelConsent)
    })
  )
}).annotations({ identifier: "Registrant" })

export const BandRegistered = Schema.Struct({
  bandUid: Uid,
  eventId: EventId,
  registrant: Registrant
}).annotations({
  identifier: "BandRegistered",
  title: "band.registered",
  description: "A ticketing system registered a band to an attendee of an event."
})

export const BandUnregistered = Schema.Struct({ bandUid: Uid, eventId: EventId }).annotations({
  identifier: "BandUnregistered",
  title: "band.unregistered",
  description: "A ticketing system released a band's registration."
})

/** The CloudEvents 1.0 context attributes a registration carries; extension attributes are ignored. */
const envelope = {
  specversion: Schema.Literal("1.0").annotations({ message: () => 'specversion must be "1.0"' }),
  id: Text("id", 256),
  source: Text("source", 2048),
  subject: Schema.optional(Text("subject", 1024)),
  time: Schema.optional(
    Schema.String.pipe(Schema.pattern(RFC3339, { message: () => "time must be an RFC 3339 instant" }))
  ),
  datacontenttype: Schema.optional(
    Schema.String.pipe(
      Schema.pattern(/^application\/json(?:\s*;.{0,100})?$/i, {
        message: () => "datacontenttype must be application/json"
      })
    )
  ),
  dataschema: Schema.optional(Text("dataschema", 2048))
}

export const Registered = Schema.Struct({
  ...envelope,
  type: Schema.Literal(REGISTERED),
  data: BandRegistered
})

export const Unregistered = Schema.Struct({
  ...envelope,
  type: Schema.Literal(UNREGISTERED),
  data: BandUnregistered
})

export const Registration = Schema.Union(Registered, Unregistered)
export type Registration = typeof Registration.Type

/** How deep `value` nests, counting up to `limit + 1` only, without recursion. */
const depthOver = (value: unknown, limit: number): boolean => {
  const stack: Array<readonly [unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (typeof current !== "object" || current === null) continue
    if (depth > limit) return true
    for (const child of Object.values(current)) stack.push([child, depth + 1])
  }
  return false
}

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, " ")
  const clean = stripControlCharacters(flat)
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean
}

const reasonOf = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const parts = issues.slice(0, 4).map((issue) => {
    const where = issue.path.length === 0 ? "the event" : issue.path.map(String).join(".")
    return `${where}: ${oneLine(issue.message, 160)}`
  })
  if (issues.length > 4) parts.push(`and ${issues.length - 4} more`)
  return oneLine(parts.join("; "), MAX_REASON)
}

const options = { errors: "all", onExcessProperty: "ignore" } as const
const decodeRegistered = Schema.decodeUnknownEither(Registered, options)
const decodeUnregistered = Schema.decodeUnknownEither(Unregistered, options)

const invalid = (reason: string) => Either.left(new InvalidRegistration({ reason }))

/** A received body (text or bytes) as a registration, or why it is not one. */
export const decode = (body: string | Uint8Array): Either.Either<Registration, InvalidRegistration> => {
  const size = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength
  if (size > MAX_BODY_BYTES) return invalid(`the message is ${size} bytes, at most ${MAX_BODY_BYTES} allowed`)
  let parsed: unknown
  try {
    parsed = JSON.parse(typeof body === "string" ? body : Buffer.from(body).toString("utf8"))
  } catch {
    return invalid("the message is not JSON (a structured CloudEvent is one JSON object)")
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return invalid("the message is not a JSON object (a structured CloudEvent is one)")
  if (depthOver(parsed, MAX_DEPTH)) return invalid(`the message nests deeper than ${MAX_DEPTH} levels`)
  // By type first: a union would report each member's mismatch, and the reason must name the real one.
  const type = (parsed as { type?: unknown }).type
  const decoded: Either.Either<Registration, ParseResult.ParseError> | undefined =
    type === REGISTERED
      ? decodeRegistered(parsed)
      : type === UNREGISTERED
        ? decodeUnregistered(parsed)
        : undefined
  if (decoded === undefined)
    return invalid(
      type === undefined
        ? "type: is missing"
        : `type: must be ${REGISTERED} or ${UNREGISTERED}, not ${oneLine(JSON.stringify(type), 80)}`
    )
  return Either.mapLeft(decoded, (error) => new InvalidRegistration({ reason: reasonOf(error) }))
}
