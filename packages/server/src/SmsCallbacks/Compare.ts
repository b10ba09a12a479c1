import { timingSafeEqual } from "node:crypto"

/**
 * Two signatures compared in constant time for their length: a byte-by-byte early exit would tell a forger
 * how much of a guess was right. Different lengths are refused at once (the length is not the secret).
 */
export const sameSignature = (expected: string, given: string): boolean => {
  const a = Buffer.from(expected, "utf8")
  const b = Buffer.from(given, "utf8")
  return a.length === b.length && timingSafeEqual(a, b)
}
