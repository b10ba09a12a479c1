import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual
} from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Context, Data, Effect, Layer, Option, Redacted } from "effect"
import { AppConfig } from "../Config/AppConfig.js"

export class SecretBoxError extends Data.TaggedError("SecretBoxError")<{ readonly message: string }> {}

export interface EncryptionKey {
  readonly id: number
  readonly key: Buffer
}

/*
 * Stored form: `v<key id>.<iv>.<ciphertext + tag>`, base64url parts. AES-256-GCM with a random 96-bit IV;
 * the associated data names what the secret belongs to (e.g. `totp:<user id>`), so a ciphertext copied
 * into another row does not decrypt there.
 */
const FORMAT = /^v(\d{1,9})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})$/

/** AES-256-GCM: ciphertext followed by the 16-byte tag. */
export const seal = (key: Buffer, iv: Buffer, plaintext: Buffer, associatedData: Buffer): Buffer => {
  const cipher = createCipheriv("aes-256-gcm", key, iv)
  cipher.setAAD(associatedData)
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
}

/** Throws when the tag does not verify. */
export const open = (key: Buffer, iv: Buffer, sealed: Buffer, associatedData: Buffer): Buffer => {
  const decipher = createDecipheriv("aes-256-gcm", key, iv)
  decipher.setAAD(associatedData)
  decipher.setAuthTag(sealed.subarray(sealed.length - 16))
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()])
}

export const encryptWith = (
  key: EncryptionKey,
  plaintext: string,
  associatedData: string,
  iv: Buffer = randomBytes(12)
) => {
  const body = seal(key.key, iv, Buffer.from(plaintext, "utf8"), Buffer.from(associatedData, "utf8"))
  return `v${key.id}.${iv.toString("base64url")}.${body.toString("base64url")}`
}

export const keyIdOf = (stored: string): number | null => {
  const match = FORMAT.exec(stored)
  return match ? Number(match[1]) : null
}

export const decryptWith = (
  keys: ReadonlyArray<EncryptionKey>,
  stored: string,
  associatedData: string
): string | SecretBoxError => {
  const match = FORMAT.exec(stored)
  if (!match) return new SecretBoxError({ message: "not an encrypted value" })
  const key = keys.find((candidate) => candidate.id === Number(match[1]))
  if (!key) return new SecretBoxError({ message: `encryption key ${match[1]} is not configured` })
  const iv = Buffer.from(match[2]!, "base64url")
  try {
    return open(
      key.key,
      iv,
      Buffer.from(match[3]!, "base64url"),
      Buffer.from(associatedData, "utf8")
    ).toString()
  } catch {
    return new SecretBoxError({ message: "the value does not decrypt with its key (tampered or wrong key)" })
  }
}

/** `2:base64,1:base64`: the first key encrypts, all of them decrypt. */
export const parseKeys = (text: string): ReadonlyArray<EncryptionKey> | SecretBoxError => {
  const keys: Array<EncryptionKey> = []
  for (const entry of text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0)) {
    const match = /^(\d{1,9}):([A-Za-z0-9+/_=-]+)$/.exec(entry)
    const key = match ? Buffer.from(match[2]!, "base64") : undefined
    if (!match || key?.length !== 32) {
      return new SecretBoxError({ message: "expected id:key pairs with 32-byte base64 keys" })
    }
    if (keys.some((known) => known.id === Number(match[1]))) {
      return new SecretBoxError({ message: `key id ${match[1]} appears twice` })
    }
    keys.push({ id: Number(match[1]), key })
  }
  return keys.length > 0 ? keys : new SecretBoxError({ message: "no key given" })
}

export interface SecretBoxShape {
  readonly currentKeyId: number
  readonly encrypt: (plaintext: string, associatedData: string) => string
  readonly decrypt: (stored: string, associatedData: string) => Effect.Effect<string, SecretBoxError>
  /** True when the value was encrypted with another key than the current one. */
  readonly isStale: (stored: string) => boolean
  /**
   * A MAC of `data` under a key derived for `purpose` (e.g. signed storage links): `v<key id>.<mac>`.
   * `verify` accepts a MAC from any configured key, so a rotation does not break links already handed out.
   */
  readonly sign: (purpose: string, data: string) => string
  readonly verify: (purpose: string, data: string, signature: string) => boolean
}

/** Encryption at rest for the secrets Tapline stores. */
export class SecretBox extends Context.Tag("@tapline/server/SecretBox")<SecretBox, SecretBoxShape>() {}

/** HMAC-SHA256 under a key derived (HKDF) for one purpose, so a MAC never doubles as another use's. */
const macWith = (key: EncryptionKey, purpose: string, data: string): Buffer =>
  createHmac("sha256", Buffer.from(hkdfSync("sha256", key.key, Buffer.alloc(0), `tapline:${purpose}`, 32)))
    .update(data, "utf8")
    .digest()

export const make = (keys: ReadonlyArray<EncryptionKey>): SecretBoxShape => {
  const current = keys[0]!
  return {
    sign: (purpose, data) => `v${current.id}.${macWith(current, purpose, data).toString("base64url")}`,
    verify: (purpose, data, signature) => {
      const match = /^v(\d{1,9})\.([A-Za-z0-9_-]{43})$/.exec(signature)
      const key = match ? keys.find((candidate) => candidate.id === Number(match[1])) : undefined
      if (!match || !key) return false
      return timingSafeEqual(Buffer.from(match[2]!, "base64url"), macWith(key, purpose, data))
    },
    currentKeyId: current.id,
    encrypt: (plaintext, associatedData) => encryptWith(current, plaintext, associatedData),
    decrypt: (stored, associatedData) => {
      const result = decryptWith(keys, stored, associatedData)
      return typeof result === "string" ? Effect.succeed(result) : Effect.fail(result)
    },
    isStale: (stored) => keyIdOf(stored) !== current.id
  }
}

/**
 * The rotation step for one table: re-encrypts under the current key every stored value sealed with an older
 * one and writes it back with `save`; returns how many were re-encrypted. A value that does not decrypt is a
 * defect: rotation must never drop a secret silently.
 */
export const reencryptStale = <Row, E, R>(
  box: SecretBoxShape,
  rows: ReadonlyArray<Row>,
  sealed: (row: Row) => { readonly stored: string; readonly associatedData: string },
  save: (row: Row, stored: string) => Effect.Effect<unknown, E, R>
): Effect.Effect<number, E, R> =>
  Effect.gen(function* () {
    let rotated = 0
    for (const row of rows) {
      const { stored, associatedData } = sealed(row)
      if (!box.isStale(stored)) continue
      const plain = yield* Effect.orDie(box.decrypt(stored, associatedData))
      yield* save(row, box.encrypt(plain, associatedData))
      rotated++
    }
    return rotated
  })

/**
 * Keys from TAPLINE_ENCRYPTION_KEYS, else a key generated once into the data folder (fine for one
 * instance; several instances must share TAPLINE_ENCRYPTION_KEYS, which the log says).
 */
export const layer = Layer.effect(
  SecretBox,
  Effect.gen(function* () {
    const { auth, embedded } = yield* AppConfig
    if (Option.isSome(auth.encryptionKeys)) {
      const keys = parseKeys(Redacted.value(auth.encryptionKeys.value))
      if (keys instanceof SecretBoxError) {
        return yield* Effect.dieMessage(`TAPLINE_ENCRYPTION_KEYS: ${keys.message}`)
      }
      return make(keys)
    }
    const file = Path.resolve(embedded.dataDir, "encryption-keys")
    // Written aside, then linked into place: link fails if the file exists, so of several processes starting
    // together on one data folder one key wins, and nobody reads a half-written file.
    const created = yield* Effect.try(() => {
      Fs.mkdirSync(Path.dirname(file), { recursive: true })
      const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`
      Fs.writeFileSync(draft, `1:${randomBytes(32).toString("base64")}\n`, { mode: 0o600 })
      try {
        Fs.linkSync(draft, file)
        return true
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return false
        throw error
      } finally {
        Fs.rmSync(draft, { force: true })
      }
    }).pipe(Effect.catchAll((error) => Effect.die(error.error)))
    if (created) {
      yield* Effect.logWarning(
        `TAPLINE_ENCRYPTION_KEYS is not set: generated a key into ${file}; instances sharing a database must share one key`
      )
    }
    const keys = parseKeys(Fs.readFileSync(file, "utf8"))
    if (keys instanceof SecretBoxError) return yield* Effect.dieMessage(`${file}: ${keys.message}`)
    return make(keys)
  })
)
