import { createPrivateKey, generateKeyPairSync, hkdfSync, type KeyObject } from "node:crypto"
import { Config, ConfigError, Context, Effect, Either, Layer, Option, Redacted } from "effect"
import { ALGORITHM, keyIdOf, pemBlocks, publicKeyPem, signReport } from "./ReportSignature.js"

/*
 * The keys that sign reports (docs/reports.md, "Keys and rotation").
 *
 * REPORT_SIGNING_KEY holds one or more PEM PKCS#8 Ed25519 private keys, one after the other (newlines, commas
 * or literal `\n` between them all work). The first signs; the others are retired: they sign nothing, but
 * their public keys stay published, so reports they signed still verify. Rotating is putting a new key first.
 *
 * Without it, as for the registration page's key (Crypto/PageToken.ts): a key derived from
 * TAPLINE_ENCRYPTION_KEYS (which instances already share), else a key of this process, which the log says
 * (its reports verify only while this process publishes its key, until it restarts).
 */

export interface SigningKey {
  readonly keyId: string
  readonly privateKey: KeyObject
  readonly publicKey: string
  readonly status: "active" | "retired"
}

export interface ReportKeysShape {
  readonly active: SigningKey
  readonly all: ReadonlyArray<SigningKey>
  /** The signed document of a report body. */
  readonly sign: (report: unknown) => {
    readonly algorithm: typeof ALGORITHM
    readonly keyId: string
    readonly signature: string
  }
}

export class ReportKeys extends Context.Tag("@tapline/server/ReportKeys")<ReportKeys, ReportKeysShape>() {}

export const make = (privateKeys: ReadonlyArray<KeyObject>): ReportKeysShape => {
  const all = privateKeys.map(
    (privateKey, index): SigningKey => ({
      keyId: keyIdOf(privateKey),
      privateKey,
      publicKey: publicKeyPem(privateKey),
      status: index === 0 ? "active" : "retired"
    })
  )
  const active = all[0]!
  return {
    active,
    all,
    sign: (report) => ({
      algorithm: ALGORITHM,
      keyId: active.keyId,
      signature: signReport(active.privateKey, report)
    })
  }
}

/** PKCS#8 DER of an Ed25519 private key is this prefix and the 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")

export const fromSeed = (seed: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" })

/** The keys of REPORT_SIGNING_KEY, or why they are not usable (never quoting the secret). */
export const parseKeys = (text: string): Either.Either<ReadonlyArray<KeyObject>, string> => {
  const blocks = pemBlocks(text)
  if (blocks.length === 0) return Either.left("expected one or more PEM PKCS#8 Ed25519 private keys")
  const keys: Array<KeyObject> = []
  for (const [index, block] of blocks.entries()) {
    let key: KeyObject
    try {
      key = createPrivateKey(block.pem)
    } catch {
      return Either.left(`key ${index + 1}: not a readable PEM private key`)
    }
    if (key.asymmetricKeyType !== "ed25519") {
      return Either.left(`key ${index + 1}: expected an Ed25519 key, got ${key.asymmetricKeyType}`)
    }
    keys.push(key)
  }
  return Either.right(keys)
}

export const config = Config.all({
  keys: Config.option(
    Config.redacted("REPORT_SIGNING_KEY").pipe(
      Config.mapOrFail((value) =>
        Either.mapLeft(parseKeys(Redacted.value(value)), (message) =>
          ConfigError.InvalidData(["REPORT_SIGNING_KEY"], message)
        )
      )
    )
  ),
  encryptionKeys: Config.option(Config.redacted("TAPLINE_ENCRYPTION_KEYS"))
})

export const layer = Layer.effect(
  ReportKeys,
  Effect.gen(function* () {
    const settings = yield* config
    if (Option.isSome(settings.keys)) return make(settings.keys.value)
    if (Option.isSome(settings.encryptionKeys)) {
      const seed = hkdfSync(
        "sha256",
        Redacted.value(settings.encryptionKeys.value),
        "",
        "tapline report signing key",
        32
      )
      return make([fromSeed(Buffer.from(seed))])
    }
    yield* Effect.logWarning(
      "REPORT_SIGNING_KEY and TAPLINE_ENCRYPTION_KEYS are not set: reports are signed with a key of this process, published only until it restarts"
    )
    return make([generateKeyPairSync("ed25519").privateKey])
  })
)
