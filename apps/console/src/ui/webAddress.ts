import { normalizeHttpUrl } from "@tapline/domain"

/**
 * A web address as an organiser types it (`acme.example`, `https://Acme.example`) in the form the API stores
 * (`https://acme.example/`). What cannot be one is returned as typed: the API's contract refuses it by its field.
 */
export const webAddress = (typed: string): string => {
  const trimmed = typed.trim()
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(trimmed) ? trimmed : `https://${trimmed}`
  return normalizeHttpUrl(withScheme) ?? trimmed
}

/** An optional text field: nothing typed is nothing sent. */
export const optional = (typed: string): string | undefined =>
  typed.trim() === "" ? undefined : typed.trim()
