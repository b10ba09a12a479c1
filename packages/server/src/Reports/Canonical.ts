/*
 * Canonical JSON for signatures, after RFC 8785 (JCS): object keys sorted by their UTF-16 code units, no
 * whitespace, strings escaped as ECMAScript's JSON.stringify escapes them, numbers in ECMAScript's shortest
 * round-trip form. Both the signer and any verifier derive the same bytes from the same value, whatever order
 * or spacing a file was saved with.
 *
 * Refused (thrown), because no two implementations would agree on them: non-finite numbers, lone surrogates
 * in strings or keys, and values JSON has no word for (undefined, functions, bigints, symbols).
 */

export class NotCanonicalizable extends Error {
  override readonly name = "NotCanonicalizable"
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const string = (value: string, at: string) => {
  if (LONE_SURROGATE.test(value)) throw new NotCanonicalizable(`${at}: a lone surrogate in a string`)
  return JSON.stringify(value)
}

const write = (value: unknown, at: string): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false"
    case "number":
      if (!Number.isFinite(value)) throw new NotCanonicalizable(`${at}: ${value} is not a JSON number`)
      // -0 serialises as 0 (RFC 8785 §3.2.2.3); JSON.stringify already does.
      return JSON.stringify(value)
    case "string":
      return string(value, at)
    case "object": {
      if (Array.isArray(value)) return `[${value.map((item, i) => write(item, `${at}[${i}]`)).join(",")}]`
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new NotCanonicalizable(`${at}: only plain objects, arrays and primitives`)
      }
      // Default sort compares UTF-16 code units, which is what RFC 8785 asks for.
      const keys = Object.keys(value).sort()
      const members: Array<string> = []
      for (const key of keys) {
        const member = (value as Record<string, unknown>)[key]
        if (member === undefined) throw new NotCanonicalizable(`${at}.${key}: undefined`)
        members.push(`${string(key, at)}:${write(member, `${at}.${key}`)}`)
      }
      return `{${members.join(",")}}`
    }
    default:
      throw new NotCanonicalizable(`${at}: a ${typeof value} is not JSON`)
  }
}

/** The canonical text of a JSON value; throws NotCanonicalizable on what JSON cannot say one way. */
export const canonicalize = (value: unknown): string => write(value, "$")
