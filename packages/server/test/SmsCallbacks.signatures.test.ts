import { createHash, createHmac } from "node:crypto"
import { FastCheck as fc } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { deliveryDetail, normaliseStatus, rank } from "../src/SmsCallbacks/DeliveryStatus.js"
import { keywordOf } from "../src/SmsCallbacks/Keywords.js"
import {
  parseSnsMessage,
  snsStringToSign,
  trustedSnsUrl,
  verifySnsSignature
} from "../src/SmsCallbacks/SnsSignature.js"
import { twilioSignature, verifyTwilio } from "../src/SmsCallbacks/TwilioSignature.js"
import { signVonageJwt, verifyVonageJwt } from "../src/SmsCallbacks/VonageJwt.js"
import {
  VONAGE_METHODS,
  verifyVonage,
  vonageSignature,
  vonageSignedString
} from "../src/SmsCallbacks/VonageSignature.js"
import { makeSigningKey, type SigningKey, signSns } from "./support/SnsSigner.js"

/*
 * Issue 34, the callbacks' signature schemes as pure functions, each both ways: what the provider signs
 * verifies; a changed parameter, a wrong secret, a missing signature does not.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)

describe("Twilio X-Twilio-Signature", () => {
  // The example Twilio's request-validation documentation (and twilio-node's own tests) sign.
  const url = "https://mycompany.com/myapp.php?foo=1&bar=2"
  const params: Array<[string, string]> = [
    ["To", "+18005551212"],
    ["Digits", "1234"],
    ["CallSid", "CA1234567890ABCDE"],
    ["From", "+14158675309"],
    ["Caller", "+14158675309"]
  ]
  const documented = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

  it("is the documented signature of the documented example", () => {
    expect(twilioSignature("12345", url, params)).toBe(documented)
    expect(verifyTwilio("12345", url, params, documented)).toBe(true)
  })

  it("refuses a changed parameter, URL or token, and a missing or empty header", () => {
    const changed = params.map(([k, v]): [string, string] => [k, k === "Digits" ? "9999" : v])
    expect(verifyTwilio("12345", url, changed, documented)).toBe(false)
    expect(verifyTwilio("12345", `${url}&baz=3`, params, documented)).toBe(false)
    expect(verifyTwilio("54321", url, params, documented)).toBe(false)
    expect(verifyTwilio("12345", url, params, undefined)).toBe(false)
    expect(verifyTwilio("12345", url, params, "")).toBe(false)
    expect(verifyTwilio("12345", url, [...params, ["Extra", "1"]], documented)).toBe(false)
  })
})

describe("Vonage signed webhooks", () => {
  const params: Array<[string, string]> = [
    ["msisdn", "447700900001"],
    ["to", "447700900000"],
    ["messageId", "0A0000001234567B"],
    ["text", "a=b&c"],
    ["timestamp", "1767225600"],
    ["nonce", "6f1a"]
  ]

  it("signs the sorted parameters as &name=value with & and = in values replaced", () => {
    expect(vonageSignedString(params)).toBe(
      "&messageId=0A0000001234567B&msisdn=447700900001&nonce=6f1a&text=a_b_c&timestamp=1767225600&to=447700900000"
    )
  })

  it("md5hash is MD5 of the string and the secret; the others an uppercase HMAC", () => {
    const signed = vonageSignedString(params)
    expect(vonageSignature("s3cret", "md5hash", params)).toBe(
      createHash("md5").update(`${signed}s3cret`).digest("hex")
    )
    expect(vonageSignature("s3cret", "sha256", params)).toBe(
      createHmac("sha256", "s3cret").update(signed).digest("hex").toUpperCase()
    )
  })

  it.each(VONAGE_METHODS)("%s verifies both ways", (method) => {
    const sig = vonageSignature("s3cret", method, params)
    const signed: Array<[string, string]> = [...params, ["sig", sig]]
    expect(verifyVonage("s3cret", method, signed)).toBe(true)
    expect(verifyVonage("s3cret", method, [...params, ["sig", sig.toLowerCase()]])).toBe(true)
    expect(verifyVonage("other", method, signed)).toBe(false)
    expect(verifyVonage("s3cret", method, params)).toBe(false)
    const changed = signed.map(([k, v]): [string, string] => [k, k === "text" ? "START" : v])
    expect(verifyVonage("s3cret", method, changed)).toBe(false)
    const older = signed.map(([k, v]): [string, string] => [k, k === "timestamp" ? "1767225000" : v])
    expect(verifyVonage("s3cret", method, older)).toBe(false)
  })
})

describe("Vonage Messages API signed webhooks (bearer JWT)", () => {
  const body = '{"message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","status":"delivered"}'

  it("verifies HS256 over the token and the body's SHA-256 in payload_hash, both ways", () => {
    const token = signVonageJwt("s3cret", body, 1_767_225_600)
    expect(verifyVonageJwt("s3cret", `Bearer ${token}`, body)?.iat).toBe(1_767_225_600)
    expect(verifyVonageJwt("other", `Bearer ${token}`, body)).toBeUndefined()
    expect(
      verifyVonageJwt("s3cret", `Bearer ${token}`, body.replace("delivered", "rejected"))
    ).toBeUndefined()
    expect(verifyVonageJwt("s3cret", undefined, body)).toBeUndefined()
    expect(verifyVonageJwt("s3cret", token, body)).toBeUndefined()
    const [, payload, signature] = token.split(".")
    const none = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")
    expect(verifyVonageJwt("s3cret", `Bearer ${none}.${payload}.${signature}`, body)).toBeUndefined()
    expect(verifyVonageJwt("s3cret", `Bearer ${none}.${payload}.`, body)).toBeUndefined()
  })
})

describe("SNS message signatures", () => {
  let key: SigningKey
  let attacker: SigningKey
  beforeAll(() => {
    key = makeSigningKey()
    attacker = makeSigningKey()
  })
  const base = {
    Type: "Notification",
    TopicArn: "arn:aws:sns:eu-west-1:123456789012:sms",
    Message: '{"messageId":"m-1","messageStatus":"DELIVERED"}',
    SigningCertURL: "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"
  }

  it("signs the documented fields in order; Subject only when present", () => {
    const message = signSns(key, { ...base, MessageId: "id-1", Timestamp: "2026-12-07T12:00:00.000Z" })
    expect(snsStringToSign(message)).toBe(
      `Message\n${base.Message}\nMessageId\nid-1\nTimestamp\n2026-12-07T12:00:00.000Z\nTopicArn\n${base.TopicArn}\nType\nNotification\n`
    )
    expect(snsStringToSign({ ...message, Subject: "s" })).toContain("MessageId\nid-1\nSubject\ns\nTimestamp")
    const confirmation = signSns(key, {
      ...base,
      Type: "SubscriptionConfirmation",
      Token: "t",
      SubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
    })
    expect(snsStringToSign(confirmation)).toMatch(
      /^Message\n.*\nMessageId\n.*\nSubscribeURL\n.*\nTimestamp\n.*\nToken\nt\nTopicArn\n/s
    )
  })

  it.each(["1", "2"] as const)("SignatureVersion %s verifies both ways", (version) => {
    const message = signSns(key, base, version)
    expect(verifySnsSignature(message, key.certificatePem)).toBe(true)
    expect(verifySnsSignature(message, attacker.certificatePem)).toBe(false)
    expect(
      verifySnsSignature(
        { ...message, Message: '{"messageId":"m-1","messageStatus":"FAILED"}' },
        key.certificatePem
      )
    ).toBe(false)
    expect(
      verifySnsSignature({ ...message, SignatureVersion: version === "1" ? "2" : "1" }, key.certificatePem)
    ).toBe(false)
    expect(verifySnsSignature({ ...message, SignatureVersion: "3" }, key.certificatePem)).toBe(false)
    expect(verifySnsSignature({ ...message, Signature: "" }, key.certificatePem)).toBe(false)
    expect(verifySnsSignature(message, "not a certificate")).toBe(false)
  })

  it("fetches certificates only from SNS's own hosts over https (and the test host when set)", () => {
    const ok = (url: string, testHost?: string) => trustedSnsUrl(url, testHost, { certificate: true })
    expect(ok("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem")).toBe(true)
    expect(ok("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem")).toBe(true)
    expect(ok("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem")).toBe(false)
    expect(ok("https://sns.us-east-1.amazonaws.com.evil.example/x.pem")).toBe(false)
    expect(ok("https://evil.example/sns.us-east-1.amazonaws.com/x.pem")).toBe(false)
    expect(ok("https://sns.us-east-1.amazonaws.com:8443/x.pem")).toBe(false)
    expect(ok("https://user@sns.us-east-1.amazonaws.com/x.pem")).toBe(false)
    expect(ok("https://sns.us-east-1.amazonaws.com/x.txt")).toBe(false)
    expect(ok("https://s3.amazonaws.com/x.pem")).toBe(false)
    expect(ok("not a url")).toBe(false)
    expect(ok("http://127.0.0.1:9999/cert.pem")).toBe(false)
    expect(ok("http://127.0.0.1:9999/cert.pem", "127.0.0.1:9999")).toBe(true)
    expect(ok("http://127.0.0.1:9998/cert.pem", "127.0.0.1:9999")).toBe(false)
    expect(
      trustedSnsUrl("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription", undefined, {
        certificate: false
      })
    ).toBe(true)
  })

  it("parses only SNS messages: every required field a string, a known Type", () => {
    const message = signSns(key, base)
    expect(parseSnsMessage(message)).toEqual(message)
    expect(parseSnsMessage({ ...message, Type: "Other" })).toBeUndefined()
    expect(parseSnsMessage({ ...message, MessageId: 1 })).toBeUndefined()
    expect(parseSnsMessage({ ...message, Subject: {} })).toBeUndefined()
    expect(parseSnsMessage([message])).toBeUndefined()
    expect(parseSnsMessage(null)).toBeUndefined()
  })
})

describe("keywords and statuses", () => {
  it("knows the carriers' keywords in any case and spacing, and nothing else", () => {
    for (const word of [
      "STOP",
      " stop ",
      "Stop.",
      "s t o p",
      "STOPALL",
      "unsubscribe",
      "Cancel",
      "END",
      "quit!"
    ])
      expect(keywordOf(word), word).toBe("stop")
    for (const word of ["START", "unstop", "Yes"]) expect(keywordOf(word), word).toBe("start")
    for (const word of ["HELP", "info", " Help! "]) expect(keywordOf(word), word).toBe("help")
    for (const word of ["please stop", "STOP IT NOW PLEASE", "", "st\u0000op", "helpme?"])
      expect(keywordOf(word), word).toBe("other")
  })

  it(`classifies keyword-like text without throwing (seed ${SEED})`, () => {
    const letters = [
      "s",
      "t",
      "o",
      "p",
      "S",
      "T",
      "O",
      "P",
      "h",
      "e",
      "l",
      " ",
      "\n",
      "\t",
      "\u0000",
      ".",
      "!"
    ]
    const text = fc.oneof(
      fc.array(fc.constantFrom(...letters), { maxLength: 12 }).map((chars) => chars.join("")),
      fc.string({ maxLength: 40 })
    )
    fc.assert(
      fc.property(text, (text) => {
        const keyword = keywordOf(text)
        const word = text
          .replace(/\s+/g, "")
          .replace(/[.!]+$/, "")
          .toUpperCase()
        return word === "STOP" ? keyword === "stop" : ["stop", "start", "help", "other"].includes(keyword)
      }),
      { seed: SEED, numRuns: 500 }
    )
  })

  it("folds each provider's words into five, and only moves forward", () => {
    expect(normaliseStatus("twilio", "delivered")).toBe("delivered")
    expect(normaliseStatus("twilio", "sending")).toBe("queued")
    expect(normaliseStatus("vonage", "expired")).toBe("undelivered")
    expect(normaliseStatus("sns", "DELIVERED")).toBe("delivered")
    expect(normaliseStatus("sns", "SUCCESS")).toBe("delivered")
    expect(normaliseStatus("twilio", "constructor")).toBeUndefined()
    expect(normaliseStatus("twilio", "nonsense")).toBeUndefined()
    expect(rank("queued")).toBeLessThan(rank("sent"))
    expect(rank("sent")).toBeLessThan(rank("delivered"))
    expect(rank("failed")).toBe(rank("delivered"))
  })

  it("keeps the provider's error without control characters, 500 characters at most", () => {
    expect(deliveryDetail("30003", "Unreachable\u0000 handset\u001b[31m")).toBe(
      "30003: Unreachable handset[31m"
    )
    expect(deliveryDetail(undefined, "  ")).toBeNull()
    expect(deliveryDetail("x".repeat(900))?.length).toBe(500)
  })
})
