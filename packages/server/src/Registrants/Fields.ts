import { hasControlCharacters } from "@tapline/domain"
import { parsePhoneNumberFromString } from "libphonenumber-js/min"

/*
 * The registrant fields every way in checks alike (the API, the CSV import, broker registrations): one pure
 * function each, answering the stored value or why it is refused, in words that name the field.
 */

export type Checked<A> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly reason: string }

const refuse = (reason: string) => ({ ok: false, reason }) as const

/** Longer input is refused before parsing: an E.164 number has at most 15 digits. */
const MAX_PHONE_INPUT = 32

/**
 * A phone number written internationally (`+` and the country code; spaces, dots, dashes and brackets
 * allowed), stored in E.164. libphonenumber's `min` metadata checks the length for the country.
 */
export const checkPhone = (input: string, field = "phone"): Checked<string> => {
  const text = input.trim()
  if (text.length > MAX_PHONE_INPUT) return refuse(`${field}: at most ${MAX_PHONE_INPUT} characters`)
  if (hasControlCharacters(text)) return refuse(`${field}: holds control characters`)
  if (!/^\+[\d\s().-]+$/.test(text))
    return refuse(`${field}: an international number is + and the country code, then digits`)
  const parsed = parsePhoneNumberFromString(text)
  if (parsed === undefined || !parsed.isValid())
    return refuse(`${field}: not a valid number for its country code`)
  return { ok: true, value: parsed.number }
}

const LOCALE = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,6}$/

/** A BCP 47 language tag, stored in its canonical case (`en-GB`). */
export const checkLocale = (input: string, field = "locale"): Checked<string> => {
  const text = input.trim()
  if (text.length > 35 || !LOCALE.test(text))
    return refuse(`${field}: a BCP 47 language tag such as en or fr-CA`)
  try {
    const [canonical] = Intl.getCanonicalLocales(text)
    return canonical !== undefined && canonical.length <= 35
      ? { ok: true, value: canonical }
      : refuse(`${field}: a BCP 47 language tag such as en or fr-CA`)
  } catch {
    return refuse(`${field}: a BCP 47 language tag such as en or fr-CA`)
  }
}

/** Personal fields as the audit keeps them: never the value, "changed" when it changed. */
export const PERSONAL_FIELDS = ["name", "email", "phone", "locale"] as const

export const auditedChange = (
  before: Readonly<Record<string, unknown>> | null,
  after: Readonly<Record<string, unknown>> | null,
  fields: ReadonlyArray<string> = PERSONAL_FIELDS
): Record<string, "changed"> => {
  const changed: Record<string, "changed"> = {}
  for (const field of fields) {
    if ((before?.[field] ?? null) !== (after?.[field] ?? null)) changed[field] = "changed"
  }
  return changed
}
