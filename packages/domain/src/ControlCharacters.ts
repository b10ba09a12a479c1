/*
 * C0 controls, DEL and C1 controls. None belongs in a URL, a tap's recorded text or a header: Node refuses
 * them in header values (and throws), PostgreSQL refuses NUL in text. Built from a string because the
 * linter rightly flags control characters in regular expression literals everywhere else.
 */
const RANGE = "[\\u0000-\\u001F\\u007F-\\u009F]"
const ONE = new RegExp(RANGE)
const ALL = new RegExp(RANGE, "g")

export const hasControlCharacters = (text: string): boolean => ONE.test(text)

/** The text without them; the same string (no copy) when it has none, which is nearly always. */
export const stripControlCharacters = (text: string): string =>
  ONE.test(text) ? text.replace(ALL, "") : text
