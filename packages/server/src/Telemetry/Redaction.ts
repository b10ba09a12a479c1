/*
 * Credentials have shapes Tapline gave them (`tlk_` API keys, `tls_`/`tlr_` session tokens, `tlt_` tickets,
 * `tli_` invitations, `whsec_` webhook secrets) or travel in known query parameters (a signed link's signature,
 * an OAuth code and state). Whatever a log line carries, a request URL above all, they leave as `<redacted>`.
 */

const TOKEN = /\b(tl[ksrti]_)[A-Za-z0-9_-]{16,}/g
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9+/=]{16,}/g
const SECRET_PARAMETER =
  /([?&](?:signature|code|state|token|invitation|access_token|refresh_token)=)[^&\s"#]+/gi

export const redactSecrets = (text: string): string =>
  text
    .replace(TOKEN, "$1<redacted>")
    .replace(WEBHOOK_SECRET, "whsec_<redacted>")
    .replace(SECRET_PARAMETER, "$1<redacted>")

/** Every string inside a log record, redacted; other values as they are. */
export const redactValue = (value: unknown): unknown => {
  if (typeof value === "string") return redactSecrets(value)
  if (Array.isArray(value)) return value.map(redactValue)
  return value
}
