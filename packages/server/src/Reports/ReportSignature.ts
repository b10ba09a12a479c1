import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto"
import { canonicalize } from "./Canonical.js"

/*
 * The signature of a report (docs/reports.md): Ed25519 over the UTF-8 bytes of the canonical JSON of the
 * document's `report` member, base64. A key's id is the first 16 hex digits of the SHA-256 of its public key
 * in SPKI DER form, so anyone holding the public key computes the same id. Pure functions: the server signs
 * with them and `tapline report:verify` checks offline with them.
 */

export const ALGORITHM = "Ed25519" as const

/** The key id of a public (or private) Ed25519 key. */
export const keyIdOf = (key: KeyObject): string => {
  const publicKey = key.type === "private" ? createPublicKey(key) : key
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16)
}

export const publicKeyPem = (key: KeyObject): string =>
  String((key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "pem" }))

export const signReport = (privateKey: KeyObject, report: unknown): string =>
  sign(null, Buffer.from(canonicalize(report), "utf8"), privateKey).toString("base64")

export type Verdict =
  | { readonly valid: true; readonly keyId: string }
  | { readonly valid: false; readonly reason: string }

/**
 * Checks a signed document (`{report, algorithm, keyId, signature}`) against the public keys a verifier trusts.
 * The document's keyId picks the key; a document whose key is not among them fails, and says which it needs.
 */
export const verifySigned = (document: unknown, keys: ReadonlyArray<KeyObject>): Verdict => {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    return { valid: false, reason: "not a signed report: expected a JSON object" }
  }
  const { algorithm, keyId, report, signature } = document as Record<string, unknown>
  if (report === undefined || typeof signature !== "string" || typeof keyId !== "string") {
    return { valid: false, reason: "not a signed report: report, signature and keyId are required" }
  }
  if (algorithm !== undefined && algorithm !== ALGORITHM) {
    return { valid: false, reason: `unsupported algorithm ${String(algorithm)}` }
  }
  const key = keys.find((candidate) => keyIdOf(candidate) === keyId)
  if (key === undefined) {
    const given = keys.map(keyIdOf).join(", ")
    return { valid: false, reason: `signed with key ${keyId}, not with the key given (${given || "none"})` }
  }
  let canonical: string
  try {
    canonical = canonicalize(report)
  } catch (error) {
    return { valid: false, reason: `report is not canonical JSON: ${(error as Error).message}` }
  }
  const bytes = Buffer.from(signature, "base64")
  if (bytes.length !== 64 || bytes.toString("base64") !== signature) {
    return { valid: false, reason: "signature is not 64 bytes of base64" }
  }
  return verify(null, Buffer.from(canonical, "utf8"), key, bytes)
    ? { valid: true, keyId }
    : { valid: false, reason: `signature does not match the report (key ${keyId}): the report was changed` }
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g

/** The PEM blocks in a text (newline- or comma-separated; `\n` written literally, as .env files do, too). */
export const pemBlocks = (text: string): ReadonlyArray<{ readonly label: string; readonly pem: string }> =>
  [...text.replace(/\\n/g, "\n").matchAll(PEM_BLOCK)].map((match) => ({
    label: match[1]!,
    pem: match[0].replace(/\r/g, "")
  }))

/**
 * The public keys a verifier was given: a PEM file (public keys, or private ones, whose public halves are
 * taken) or the keys JSON document of `/.well-known/tapline/report-keys.json`. Throws with the reason.
 */
export const trustedKeys = (text: string): ReadonlyArray<KeyObject> => {
  const trimmed = text.trim()
  if (trimmed.startsWith("{")) {
    const parsed = JSON.parse(trimmed) as { keys?: unknown }
    if (!Array.isArray(parsed.keys)) throw new Error("a keys document has a `keys` array")
    return parsed.keys.map((entry: { publicKey?: unknown }) => {
      if (typeof entry?.publicKey !== "string") throw new Error("each key of a keys document has a publicKey")
      return ed25519(createPublicKey(entry.publicKey))
    })
  }
  const blocks = pemBlocks(trimmed)
  if (blocks.length === 0) throw new Error("no PEM key and not a keys JSON document")
  return blocks.map(({ pem }) => ed25519(createPublicKey(pem)))
}

const ed25519 = (key: KeyObject) => {
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`not an Ed25519 key (${key.asymmetricKeyType})`)
  return key
}
