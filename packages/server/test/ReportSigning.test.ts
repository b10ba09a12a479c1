import { generateKeyPairSync } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, FastCheck as fc, Logger, LogLevel } from "effect"
import { canonicalize, NotCanonicalizable } from "../src/Reports/Canonical.js"
import * as ReportKeys from "../src/Reports/ReportKeys.js"
import { keyIdOf, trustedKeys, verifySigned } from "../src/Reports/ReportSignature.js"

/** Printed at the start; `CANONICAL_SEED=<n>` replays the same values. */
const SEED = Number(process.env.CANONICAL_SEED ?? Math.floor(Math.random() * 2 ** 31))

const pem = () => String(generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }))

describe("canonical JSON (RFC 8785)", () => {
  it("matches the RFC's own examples", () => {
    // RFC 8785 §3.2.2: numbers in ECMAScript form, strings escaped only where JSON requires.
    const sample = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}'
    )
    expect(canonicalize(sample)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    // §3.2.3: keys sorted by UTF-16 code units (the emoji's surrogate pair sorts before U+FB33).
    const keys = { "\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\ud83d\ude00": 5, "\u0080": 6, "\u00f6": 7 }
    expect(canonicalize(keys)).toBe(
      '{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\ud83d\ude00":5,"\ufb33":3}'
    )
  })

  it("is independent of key order and spacing, and refuses what JSON cannot say one way", () => {
    expect(canonicalize({ b: [1, { d: 0, c: -0 }], a: "x" })).toBe('{"a":"x","b":[1,{"c":0,"d":0}]}')
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      undefined,
      1n,
      () => 1,
      new Date(0),
      "\ud800",
      { "\udc00": 1 },
      { a: undefined }
    ]) {
      expect(() => canonicalize(bad)).toThrow(NotCanonicalizable)
    }
    console.log(`canonical JSON property seed: ${SEED} (CANONICAL_SEED to replay)`)
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalize(value)
        // Canonical text parses back to the same value, and is its own canonical form.
        expect(canonicalize(JSON.parse(text))).toBe(text)
        expect(canonicalize(JSON.parse(JSON.stringify(value, null, 3)))).toBe(text)
        expect(text).not.toMatch(/^\s|\s$/)
      }),
      { seed: SEED, numRuns: 300 }
    )
  })
})

describe("report signing keys", () => {
  const keysFrom = (env: Record<string, string>) =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      const keys = yield* ReportKeys.ReportKeys.pipe(
        Effect.provide(ReportKeys.layer),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
        Logger.withMinimumLogLevel(LogLevel.Warning)
      )
      return { keys, logs }
    })

  it.effect(
    "REPORT_SIGNING_KEY: the first signs, the others are retired; a bad key is refused without quoting it",
    () =>
      Effect.gen(function* () {
        const [a, b] = [pem(), pem()]
        // Comma-separated, and with literal \n as .env files write it: the same two keys.
        for (const value of [`${a}\n${b}`, `${a},${b}`, `${a}${b}`.replace(/\n/g, "\\n")]) {
          const { keys, logs } = yield* keysFrom({ REPORT_SIGNING_KEY: value })
          expect(keys.all.map((k) => k.status)).toEqual(["active", "retired"])
          expect(keys.active.keyId).toMatch(/^[0-9a-f]{16}$/)
          expect(logs).toEqual([])
        }
        const rsa = String(
          generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
            type: "pkcs8",
            format: "pem"
          })
        )
        for (const bad of [
          rsa,
          "not a key",
          "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
        ]) {
          const failed = yield* Effect.either(keysFrom({ REPORT_SIGNING_KEY: bad }))
          expect(Either.isLeft(failed)).toBe(true)
          expect(String(Either.isLeft(failed) ? failed.left : "")).toContain("REPORT_SIGNING_KEY")
          expect(String(Either.isLeft(failed) ? failed.left : "")).not.toContain("AAAA")
        }
      })
  )

  it.effect(
    "without it: a key derived from TAPLINE_ENCRYPTION_KEYS (the same on every instance), else a process key, said at WARN",
    () =>
      Effect.gen(function* () {
        const env = { TAPLINE_ENCRYPTION_KEYS: `1:${Buffer.alloc(32, 3).toString("base64")}` }
        const first = yield* keysFrom(env)
        const second = yield* keysFrom(env)
        expect(first.keys.active.keyId).toBe(second.keys.active.keyId)
        expect(first.logs).toEqual([])
        const processKey = yield* keysFrom({})
        expect(processKey.logs.join("\n")).toContain("REPORT_SIGNING_KEY")
        expect(processKey.keys.all).toHaveLength(1)
      })
  )

  it("verifies with a PEM public key, a private one, or the keys document, and says why not", () => {
    const keys = ReportKeys.make(Either.getOrThrow(ReportKeys.parseKeys(pem())))
    const report = { figures: { taps: 1 }, name: "x" }
    const signed = { report, ...keys.sign(report) }
    const document = JSON.stringify({
      keys: keys.all.map((k) => ({
        keyId: k.keyId,
        algorithm: "Ed25519",
        publicKey: k.publicKey,
        status: k.status
      }))
    })
    for (const given of [keys.active.publicKey, document]) {
      expect(verifySigned(signed, trustedKeys(given))).toEqual({ valid: true, keyId: keys.active.keyId })
    }
    expect(keyIdOf(trustedKeys(keys.active.publicKey)[0]!)).toBe(keys.active.keyId)
    const other = trustedKeys(
      ReportKeys.make(Either.getOrThrow(ReportKeys.parseKeys(pem()))).active.publicKey
    )
    expect(verifySigned(signed, other)).toMatchObject({
      valid: false,
      reason: expect.stringContaining(keys.active.keyId)
    })
    expect(verifySigned({ ...signed, signature: "AAAA" }, trustedKeys(document)).valid).toBe(false)
    expect(
      verifySigned({ ...signed, report: { ...report, figures: { taps: 2 } } }, trustedKeys(document))
    ).toMatchObject({
      valid: false,
      reason: expect.stringContaining("changed")
    })
    expect(verifySigned("text", trustedKeys(document)).valid).toBe(false)
    expect(() => trustedKeys("nothing")).toThrow()
  })
})
