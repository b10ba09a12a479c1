/*
 * Credentials have shapes Tapline gave them (`tlk_` API keys, `tls_`/`tlr_` session tokens, `tlt_` tickets,
 * `tli_` invitations, `tle_` email sign-in links, `tlc_` registration confirmations, `whsec_` webhook secrets),
 * travel in known query parameters (a signed link's signature, an OAuth code and state) or are a path's last
 * part (a registration page's token after `/r/`, an unsubscribe token after `/u/`). Whatever a log line
 * carries, a request URL above all, they leave as `<redacted>`.
 */

const TOKEN = /\b(tl[ksrtiec]_)[A-Za-z0-9_-]{16,}/g
// A page token is `eventId.bandUid.expiry.mac`; an unsubscribe token 32 base64url characters.
const PATH_TOKEN = /(\/[ru]\/)(?!confirm\/)[A-Za-z0-9._-]{16,}/g
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9+/=]{16,}/g
const SECRET_PARAMETER =
  /([?&](?:signature|code|state|token|invitation|access_token|refresh_token)=)[^&\s"#]+/gi

/*
 * Personal data (issue 33): an email address or an international phone number in a log line or a span
 * attribute (a registrant's, an invitee's, a mail's recipient) leaves as `<email>` / `<phone>`. A phone is a
 * `+`, a digit and 6 to 18 more digits or separators: timestamps' offsets (`+01:00`) and counts do not match.
 */
// Bounded parts keep a 1 MB line without an address linear to scan.
const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}/g
const PHONE = /\+[1-9](?:[\d().\s-]{5,20})\d/g

export const redactSecrets = (text: string): string =>
  text
    .replace(EMAIL, "<email>")
    .replace(PHONE, (match) => (match.replace(/\D/g, "").length >= 7 ? "<phone>" : match))
    .replace(TOKEN, "$1<redacted>")
    .replace(PATH_TOKEN, "$1<redacted>")
    .replace(WEBHOOK_SECRET, "whsec_<redacted>")
    .replace(SECRET_PARAMETER, "$1<redacted>")

/** Every string inside a log record, redacted; other values as they are. */
export const redactValue = (value: unknown): unknown => {
  if (typeof value === "string") return redactSecrets(value)
  if (Array.isArray(value)) return value.map(redactValue)
  return value
}
