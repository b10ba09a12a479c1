import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { ConfigProvider, Effect, Layer, Logger, LogLevel } from "effect"
import { describe, expect, it } from "vitest"
import { AppConfig } from "../src/Config/AppConfig.js"
import {
  decryptWith,
  encryptWith,
  layer,
  make,
  open,
  parseKeys,
  SecretBoxError,
  SecretBox as SecretBoxTag,
  seal
} from "../src/Crypto/SecretBox.js"

const hex = (text: string) => Buffer.from(text, "hex")

/*
 * Known answers from the GCM specification's test vectors (McGrew & Viega, "The Galois/Counter Mode of
 * Operation", test cases 13, 14 and 16: AES-256). If the primitive or its use (tag placement, AAD) drifts,
 * these fail.
 */
describe("SecretBox: AES-256-GCM known answers", () => {
  it("test case 13: zero key, empty plaintext", () => {
    expect(seal(Buffer.alloc(32), Buffer.alloc(12), Buffer.alloc(0), Buffer.alloc(0)).toString("hex")).toBe(
      "530f8afbc74536b9a963b4f1c4cb738b"
    )
  })

  it("test case 14: zero key, one zero block", () => {
    expect(seal(Buffer.alloc(32), Buffer.alloc(12), Buffer.alloc(16), Buffer.alloc(0)).toString("hex")).toBe(
      "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919"
    )
  })

  it("test case 16: key, IV, plaintext and associated data", () => {
    const key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
    const iv = hex("cafebabefacedbaddecaf888")
    const plaintext = hex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
    )
    const aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    const expected =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662" +
      "76fc6ece0f4e1768cddf8853bb2d551b"
    expect(seal(key, iv, plaintext, aad).toString("hex")).toBe(expected)
    expect(open(key, iv, hex(expected), aad).toString("hex")).toBe(plaintext.toString("hex"))
  })

  it("the stored form of a known key, IV and text", () => {
    const key = { id: 7, key: Buffer.alloc(32, 1) }
    const stored = encryptWith(key, "JBSWY3DPEHPK3PXP", "totp:user-1", Buffer.alloc(12, 2))
    expect(stored).toBe(encryptWith(key, "JBSWY3DPEHPK3PXP", "totp:user-1", Buffer.alloc(12, 2)))
    expect(stored.startsWith("v7.AgICAgICAgICAgIC.")).toBe(true)
    expect(decryptWith([key], stored, "totp:user-1")).toBe("JBSWY3DPEHPK3PXP")
  })
})

describe("SecretBox: keys and tampering", () => {
  const one = { id: 1, key: Buffer.alloc(32, 11) }
  const two = { id: 2, key: Buffer.alloc(32, 22) }

  it("refuses another row's associated data, a flipped bit and an unknown key", () => {
    const stored = encryptWith(one, "secret", "oauth:github")
    expect(decryptWith([one], stored, "oauth:google")).toBeInstanceOf(SecretBoxError)
    const [version, iv, body] = stored.split(".")
    const flipped = Buffer.from(body!, "base64url")
    flipped[0] = flipped[0]! ^ 1
    const tampered = `${version}.${iv}.${flipped.toString("base64url")}`
    expect(decryptWith([one], tampered, "oauth:github")).toBeInstanceOf(SecretBoxError)
    expect(decryptWith([two], stored, "oauth:github")).toBeInstanceOf(SecretBoxError)
    expect(decryptWith([one], "plain text", "oauth:github")).toBeInstanceOf(SecretBoxError)
  })

  it("after a rotation, old values still decrypt, are reported stale and re-encrypt with the new key", () => {
    const stored = encryptWith(one, "secret", "totp:u")
    const box = make([two, one])
    expect(box.isStale(stored)).toBe(true)
    expect(Effect.runSync(box.decrypt(stored, "totp:u"))).toBe("secret")
    const rotated = box.encrypt("secret", "totp:u")
    expect(rotated.startsWith("v2.")).toBe(true)
    expect(box.isStale(rotated)).toBe(false)
    // Once the old key is removed, only the rotated value still reads.
    expect(decryptWith([two], rotated, "totp:u")).toBe("secret")
    expect(decryptWith([two], stored, "totp:u")).toBeInstanceOf(SecretBoxError)
  })

  it("parses TAPLINE_ENCRYPTION_KEYS and refuses bad lists", () => {
    const text = `2:${Buffer.alloc(32, 2).toString("base64")}, 1:${Buffer.alloc(32, 1).toString("base64")}`
    const keys = parseKeys(text)
    expect(keys instanceof SecretBoxError ? keys.message : keys.map((k) => k.id)).toEqual([2, 1])
    expect(parseKeys("")).toBeInstanceOf(SecretBoxError)
    expect(parseKeys(`1:${Buffer.alloc(16).toString("base64")}`)).toBeInstanceOf(SecretBoxError)
    const key = Buffer.alloc(32).toString("base64")
    expect(parseKeys(`1:${key},1:${key}`)).toBeInstanceOf(SecretBoxError)
  })
})

describe("SecretBox: generated key", () => {
  it("without TAPLINE_ENCRYPTION_KEYS, a key is generated once (mode 600, no drafts left) and every start reuses it", async () => {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-keys-"))
    try {
      const config = AppConfig.layer.pipe(
        Layer.provide(
          Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["TAPLINE_DATA_DIR", dataDir]])))
        )
      )
      const build = Effect.runPromise(
        Effect.map(SecretBoxTag, (box) => box.encrypt("seed", "totp:u")).pipe(
          Effect.provide(layer.pipe(Layer.provide(config))),
          Effect.provide(Logger.minimumLogLevel(LogLevel.None))
        )
      )
      const sealed = await Promise.all(Array.from({ length: 8 }, () => build))
      const keys = parseKeys(Fs.readFileSync(Path.join(dataDir, "encryption-keys"), "utf8"))
      if (keys instanceof SecretBoxError) throw keys
      for (const value of sealed) expect(decryptWith(keys, value, "totp:u")).toBe("seed")
      expect(Fs.statSync(Path.join(dataDir, "encryption-keys")).mode & 0o777).toBe(0o600)
      expect(Fs.readdirSync(dataDir)).toEqual(["encryption-keys"])
    } finally {
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
