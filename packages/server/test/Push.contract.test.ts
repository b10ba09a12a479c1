import { type ChildProcess, spawn } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http2 from "node:http2"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { freePort } from "@tapline/testing/ports"
import { makeTestCertificates } from "@tapline/testing/testCa"
import { ConfigProvider, type Duration, Effect, Either, Layer, Option, Redacted, type Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AppConfig } from "../src/Config/AppConfig.js"
import * as ApnsPush from "../src/Push/ApnsPush.js"
import * as Failover from "../src/Push/Failover.js"
import * as FcmPush from "../src/Push/FcmPush.js"
import * as LogPush from "../src/Push/LogPush.js"
import { Push, PushError, type PushMessage, type PushShape } from "../src/Push/Push.js"
import * as PushConfig from "../src/Push/PushConfig.js"
import * as PushProviders from "../src/Push/providers.js"
import * as WebPush from "../src/Push/WebPush.js"
import * as Metrics from "../src/Telemetry/Metrics.js"
import { type CaptureServer, type Reply, startCaptureServer } from "./support/CaptureServer.js"

/*
 * One contract for every Push provider, each against the peer the issue names: Web Push against
 * web-push-testing (a local push service that checks the VAPID JWT, decrypts the aes128gcm payload and answers
 * 410 for an expired subscription) plus a capture peer for the statuses it never answers; FCM HTTP v1 against a
 * loopback peer that verifies the service-account JWT and holds the send to its documented JSON; APNs against a
 * node:http2 TLS server with a CA the test makes, verifying the ES256 provider token. Each answers the
 * provider's documented errors: gone, permanent, transient with Retry-After, an expired credential.
 */

const TIMEOUT: Duration.DurationInput = "2 seconds"
const ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
const base = {
  id: ID,
  title: "Doors open – ✓",
  body: "Grüße: stage B in 10 minutes",
  url: "https://tapline.test/e/1"
}

const run = <A>(effect: Effect.Effect<A, PushError, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(Effect.either(effect)))
const failureOf = (result: Either.Either<unknown, PushError>) =>
  Either.getLeft(result).pipe(Option.getOrThrow)

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body)
})

// ---------------------------------------------------------------------------------------------------------
// Web Push

describe("Push contract: webpush", () => {
  const vapid = WebPush.generateVapidKeys()
  const options = {
    publicKey: vapid.publicKey,
    privateKey: Redacted.make(vapid.privateKey),
    subject: "mailto:ops@tapline.test",
    timeout: TIMEOUT
  }
  let service: ChildProcess
  let serviceUrl: string
  let capture: CaptureServer

  beforeAll(async () => {
    const port = await freePort()
    const root = Path.dirname(createRequire(import.meta.url).resolve("web-push-testing/package.json"))
    service = spawn(process.execPath, [Path.join(root, "src/bin/server.js"), String(port)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    // It prints one line once it listens.
    await new Promise<void>((resolve, reject) => {
      service.stdout!.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes(`port ${port}`)) resolve()
      })
      service.once("exit", (code) => reject(new Error(`web-push-testing exited with ${code}`)))
    })
    serviceUrl = `http://localhost:${port}`
    capture = await startCaptureServer()
  })
  afterAll(async () => {
    service?.kill()
    await capture?.close()
  })

  const api = async (path: string, body: unknown) => {
    const response = await fetch(`${serviceUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    })
    // web-push-testing's answers: { data: … } or { error: { message } }.
    return {
      status: response.status,
      body: (await response.json().catch(() => ({}))) as { data: Record<string, unknown> }
    }
  }
  const subscribe = async () => {
    const { status, body } = await api("/subscribe", { applicationServerKey: vapid.publicKey })
    expect(status).toBe(200)
    return body.data as unknown as {
      endpoint: string
      keys: { p256dh: string; auth: string }
      clientHash: string
    }
  }
  const send = (
    subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
    extra = {},
    timeout: Duration.DurationInput = TIMEOUT
  ) =>
    run(
      Effect.flatMap(WebPush.make({ ...options, timeout }), (push) =>
        push.send({ ...base, ...extra, subscription: { kind: "webpush", ...subscription } })
      )
    )

  it("delivers: the push service verifies the VAPID JWT and decrypts our aes128gcm payload", async () => {
    const subscription = await subscribe()
    const result = await send(subscription)
    expect(Either.getRight(result).pipe(Option.map((r) => r.provider))).toEqual(Option.some("webpush"))
    const { body } = await api("/get-notifications", { clientHash: subscription.clientHash })
    expect((body.data.messages as Array<string>).map((m) => JSON.parse(m))).toEqual([
      { title: base.title, body: base.body, url: base.url, id: ID }
    ])
  })

  it("an expired subscription answers 410: gone", async () => {
    const subscription = await subscribe()
    expect((await api(`/expire-subscription/${subscription.clientHash}`, {})).status).toBe(200)
    const error = failureOf(await send(subscription))
    expect(error.failure).toBe("gone")
    expect(error.message).toContain("410")
  })

  it("a subscription the push service does not know is refused (400): permanent", async () => {
    const subscription = await subscribe()
    const error = failureOf(
      await send({ ...subscription, endpoint: `${serviceUrl}/notify/${"0".repeat(64)}` })
    )
    expect(error.failure).toBe("permanent")
  })

  it("sends RFC 8030/8291/8292 headers, and reads each status as documented", async () => {
    const subscription = await subscribe()
    const viaCapture = { ...subscription, endpoint: `${capture.url}/push/abc` }
    capture.reply({ status: 201, headers: { location: `${capture.url}/m/42` } })
    const sent = await send(viaCapture, { ttlSeconds: 600 })
    expect(Either.getRight(sent).pipe(Option.map((r) => r.providerMessageId))).toEqual(
      Option.some(`${capture.url}/m/42`)
    )
    const request = capture.requests.at(-1)!
    expect(request.method).toBe("POST")
    expect(request.url).toBe("/push/abc")
    expect(request.headers["content-encoding"]).toBe("aes128gcm")
    expect(request.headers["content-type"]).toBe("application/octet-stream")
    expect(request.headers.ttl).toBe("600")
    expect(request.headers.topic).toBe(ID.replace(/-/g, ""))
    expect(request.headers.authorization).toMatch(
      new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${vapid.publicKey}$`)
    )
    const claims = JSON.parse(
      Buffer.from(request.headers.authorization!.split(".")[1]!, "base64url").toString()
    )
    expect(claims).toMatchObject({ aud: capture.url, sub: "mailto:ops@tapline.test" })

    for (const [reply, failure] of [
      [json(404, {}), "gone"],
      [json(413, {}), "permanent"],
      [json(400, {}), "permanent"],
      [json(500, {}), "transient"],
      ["stall", "transient"]
    ] as const) {
      capture.reply(reply)
      // A short deadline: the stalled peer is waited for only this long.
      expect(failureOf(await send(viaCapture, {}, "300 millis")).failure, JSON.stringify(reply)).toBe(failure)
    }
    capture.reply(json(429, {}, { "retry-after": "9" }))
    const limited = failureOf(await send(viaCapture))
    expect([limited.failure, limited.retryAfterSeconds]).toEqual(["transient", 9])
    expect(limited.message).not.toContain(vapid.privateKey)
  })
})

// ---------------------------------------------------------------------------------------------------------
// FCM HTTP v1

describe("Push contract: fcm", () => {
  const { publicKey, privateKey } = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }) as string
  const account = {
    projectId: "tapline-test",
    clientEmail: "push@tapline-test.iam.gserviceaccount.com",
    privateKey: Redacted.make(privatePem),
    privateKeyId: "kid-1"
  }
  const SEND = "/v1/projects/tapline-test/messages:send"
  let peer: CaptureServer
  let tokens = 0
  let expiresIn = 3600
  let tokenReply: Reply | undefined
  const sendReplies: Array<Reply> = []

  beforeAll(async () => {
    peer = await startCaptureServer()
    peer.fallback = (request) => {
      if (request.url === "/token") {
        if (tokenReply !== undefined) return tokenReply
        tokens++
        return json(200, {
          access_token: `ya29.token-${tokens}`,
          expires_in: expiresIn,
          token_type: "Bearer"
        })
      }
      return (
        sendReplies.shift() ??
        json(200, { name: "projects/tapline-test/messages/0:1500415314455276%31bd1c9631bd1c96" })
      )
    }
  })
  afterAll(() => peer.close())

  const make = (timeout: Duration.DurationInput = TIMEOUT) =>
    FcmPush.make({
      serviceAccount: account,
      tokenUrl: `${peer.url}/token`,
      apiUrl: peer.url,
      timeout
    })
  const fresh = () => {
    peer.requests.length = 0
    sendReplies.length = 0
    tokenReply = undefined
    expiresIn = 3600
  }
  const message: PushMessage = {
    ...base,
    ttlSeconds: 600,
    subscription: { kind: "fcm", token: "fcm-device-token-1" }
  }
  const fcmError = (status: number, code: string, errorCode?: string, extra: Array<unknown> = []) =>
    json(status, {
      error: {
        code: status,
        message: `${code} from the test`,
        status: code,
        details: [
          ...(errorCode === undefined
            ? []
            : [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }]),
          ...extra
        ]
      }
    })

  it("exchanges a signed service-account JWT for a token, then sends the documented message with it", async () => {
    fresh()
    const result = await run(Effect.flatMap(make(), (push) => push.send(message)))
    expect(Either.getRight(result).pipe(Option.map((r) => r.providerMessageId))).toEqual(
      Option.some("projects/tapline-test/messages/0:1500415314455276%31bd1c9631bd1c96")
    )
    const [exchange, sent] = peer.requests
    expect(exchange!.method).toBe("POST")
    expect(exchange!.headers["content-type"]).toBe("application/x-www-form-urlencoded")
    const form = new URLSearchParams(exchange!.body)
    expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer")
    const [header, claims, signature] = form.get("assertion")!.split(".")
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({
      alg: "RS256",
      typ: "JWT",
      kid: "kid-1"
    })
    const payload = JSON.parse(Buffer.from(claims!, "base64url").toString())
    expect(payload).toMatchObject({
      iss: account.clientEmail,
      scope: "https://www.googleapis.com/auth/firebase.messaging",
      aud: `${peer.url}/token`
    })
    expect(payload.exp - payload.iat).toBe(3600)
    expect(
      Crypto.verify(
        "sha256",
        Buffer.from(`${header}.${claims}`),
        publicKey,
        Buffer.from(signature!, "base64url")
      )
    ).toBe(true)

    expect(sent!.method).toBe("POST")
    expect(sent!.url).toBe(SEND)
    expect(sent!.headers.authorization).toBe("Bearer ya29.token-1")
    expect(sent!.headers["content-type"]).toBe("application/json; charset=utf-8")
    const body = JSON.parse(sent!.body)
    const expiration = Number(body.message.apns.headers["apns-expiration"])
    expect(body).toEqual({
      message: {
        token: "fcm-device-token-1",
        notification: { title: base.title, body: base.body },
        data: { id: ID, url: base.url },
        android: { ttl: "600s" },
        webpush: { headers: { TTL: "600" }, fcm_options: { link: base.url } },
        apns: { headers: { "apns-expiration": String(expiration) } }
      }
    })
    expect(expiration - payload.iat).toBeGreaterThanOrEqual(600)
  })

  it("keeps the token for the next sends, and renews one that is due", async () => {
    fresh()
    const before = tokens
    await run(Effect.flatMap(make(), (push) => Effect.zip(push.send(message), push.send(message))))
    expect(tokens - before).toBe(1)
    // Concurrent first sends wait for one exchange instead of each making their own.
    const concurrent = tokens
    await run(
      Effect.flatMap(make(), (push) =>
        Effect.all(
          [1, 2, 3].map(() => push.send(message)),
          { concurrency: 3 }
        )
      )
    )
    expect(tokens - concurrent).toBe(1)
    // A token that expires within the renewal margin is exchanged again on the next send.
    fresh()
    expiresIn = 60
    const renewed = tokens
    await run(Effect.flatMap(make(), (push) => Effect.zip(push.send(message), push.send(message))))
    expect(tokens - renewed).toBe(2)
  })

  it("a 401 renews the token once and retries the send with the new one", async () => {
    fresh()
    sendReplies.push(fcmError(401, "UNAUTHENTICATED"))
    const result = await run(Effect.flatMap(make(), (push) => push.send(message)))
    expect(Either.isRight(result)).toBe(true)
    const sends = peer.requests.filter((r) => r.url === SEND)
    expect(sends).toHaveLength(2)
    expect(sends[0]!.headers.authorization).not.toBe(sends[1]!.headers.authorization)
    expect(peer.requests.filter((r) => r.url === "/token")).toHaveLength(2)
  })

  it("reads FCM's documented error codes: gone, permanent, transient with Retry-After", async () => {
    const tokenViolation = {
      "@type": "type.googleapis.com/google.rpc.BadRequest",
      fieldViolations: [{ field: "message.token", description: "Invalid registration token" }]
    }
    const cases: ReadonlyArray<readonly [Reply, string, number | undefined]> = [
      [fcmError(404, "NOT_FOUND", "UNREGISTERED"), "gone", undefined],
      [fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", [tokenViolation]), "gone", undefined],
      [fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), "permanent", undefined],
      [fcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), "permanent", undefined],
      [
        { ...fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), headers: { "retry-after": "17" } },
        "transient",
        17
      ],
      [fcmError(503, "UNAVAILABLE", "UNAVAILABLE"), "transient", undefined],
      [fcmError(500, "INTERNAL", "INTERNAL"), "transient", undefined]
    ]
    for (const [reply, failure, retryAfter] of cases) {
      fresh()
      sendReplies.push(reply)
      const error = failureOf(await run(Effect.flatMap(make(), (push) => push.send(message))))
      expect([error.failure, error.retryAfterSeconds], String((reply as { body: string }).body)).toEqual([
        failure,
        retryAfter
      ])
    }
  })

  it("a refused token exchange is transient, and the error holds neither the key nor a token", async () => {
    fresh()
    tokenReply = json(400, { error: "invalid_grant", error_description: "Invalid JWT Signature." })
    const error = failureOf(await run(Effect.flatMap(make(), (push) => push.send(message))))
    expect(error.failure).toBe("transient")
    expect(error.message).toContain("invalid_grant")
    expect(error.message).not.toContain("PRIVATE KEY")
    expect(peer.requests.filter((r) => r.url === SEND)).toHaveLength(0)
  })

  it("a peer that never answers the send is a transient timeout", async () => {
    fresh()
    sendReplies.push("stall")
    const error = failureOf(await run(Effect.flatMap(make("300 millis"), (push) => push.send(message))))
    expect([error.failure, error.message]).toEqual(["transient", "fcm unreachable: timed out"])
  })
})

// ---------------------------------------------------------------------------------------------------------
// APNs over HTTP/2

interface ApnsRequest {
  readonly headers: Http2.IncomingHttpHeaders
  readonly body: string
}

describe("Push contract: apns", () => {
  const certificates = makeTestCertificates("apns")
  const { publicKey, privateKey } = Crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" })
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }) as string
  let server: Http2.Http2SecureServer
  let url: string
  let sessions = 0
  const received: Array<ApnsRequest> = []
  const replies: Array<{ status: number; reason?: string; headers?: Record<string, string> }> = []
  const open = new Set<Http2.ServerHttp2Session>()

  beforeAll(async () => {
    server = Http2.createSecureServer({ key: certificates.key, cert: certificates.cert })
    server.on("session", (session) => {
      sessions++
      open.add(session)
      session.on("close", () => open.delete(session))
    })
    server.on("stream", (stream, headers) => {
      const chunks: Array<Buffer> = []
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", () => {
        received.push({ headers, body: Buffer.concat(chunks).toString("utf8") })
        const reply = replies.shift() ?? { status: 200 }
        if (reply.status === 0) return // a stalled APNs: no answer at all
        const apnsId = (headers["apns-id"] as string | undefined) ?? "7c1b6e5a-0000-4000-8000-000000000001"
        stream.respond({ ":status": reply.status, "apns-id": apnsId, ...reply.headers })
        stream.end(reply.reason === undefined ? undefined : JSON.stringify({ reason: reply.reason }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    for (const session of open) session.destroy()
    await new Promise((resolve) => server.close(resolve))
  })

  const options = (overrides: Partial<ApnsPush.ApnsOptions> = {}): ApnsPush.ApnsOptions => ({
    key: Redacted.make(keyPem),
    keyId: "ABC123DEFG",
    teamId: "DEF123GHIJ",
    topic: "test.tapline.app",
    url,
    ca: Option.some(certificates.ca),
    timeout: TIMEOUT,
    ...overrides
  })
  const token = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
  const message: PushMessage = { ...base, subscription: { kind: "apns", token } }
  const fresh = () => {
    received.length = 0
    replies.length = 0
  }
  const verifyJwt = (authorization: string) => {
    const [scheme, jwt] = authorization.split(" ")
    expect(scheme).toBe("bearer")
    const [header, claims, signature] = jwt!.split(".")
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({
      alg: "ES256",
      kid: "ABC123DEFG"
    })
    const payload = JSON.parse(Buffer.from(claims!, "base64url").toString())
    expect(Object.keys(payload).sort()).toEqual(["iat", "iss"])
    expect(payload.iss).toBe("DEF123GHIJ")
    const valid = Crypto.verify(
      "sha256",
      Buffer.from(`${header}.${claims}`),
      { key: publicKey, dsaEncoding: "ieee-p1363" },
      Buffer.from(signature!, "base64url")
    )
    expect(valid).toBe(true)
    return payload.iat as number
  }

  it("posts the alert to /3/device/<token> with a valid ES256 provider token and the documented headers", async () => {
    fresh()
    const result = await run(Effect.flatMap(ApnsPush.make(options()), (push) => push.send(message)))
    expect(Either.getRight(result).pipe(Option.map((r) => r.providerMessageId))).toEqual(Option.some(ID))
    const [request] = received
    expect(request!.headers[":method"]).toBe("POST")
    expect(request!.headers[":path"]).toBe(`/3/device/${token}`)
    const iat = verifyJwt(request!.headers.authorization as string)
    expect(request!.headers["apns-topic"]).toBe("test.tapline.app")
    expect(request!.headers["apns-push-type"]).toBe("alert")
    expect(request!.headers["apns-priority"]).toBe("10")
    expect(request!.headers["apns-id"]).toBe(ID)
    expect(Number(request!.headers["apns-expiration"]) - iat).toBeGreaterThanOrEqual(2_419_200)
    expect(JSON.parse(request!.body)).toEqual({
      aps: { alert: { title: base.title, body: base.body } },
      url: base.url,
      id: ID
    })
  })

  it("reuses one session and one provider token for many sends; a message id that is no UUID sends no apns-id", async () => {
    fresh()
    const before = sessions
    await run(
      Effect.flatMap(ApnsPush.make(options()), (push) =>
        Effect.all([push.send(message), push.send({ ...message, id: "not-a-uuid" }), push.send(message)], {
          concurrency: 3
        })
      )
    )
    expect(sessions - before).toBe(1)
    expect(new Set(received.map((r) => r.headers.authorization)).size).toBe(1)
    expect(received.filter((r) => r.headers["apns-id"] === undefined)).toHaveLength(1)
  })

  it("reconnects when APNs closes the session", async () => {
    fresh()
    const before = sessions
    const result = await run(
      Effect.flatMap(ApnsPush.make(options()), (push) =>
        Effect.gen(function* () {
          yield* push.send(message)
          // APNs' GOAWAY: the server ends every session, and the next send must open a new one.
          yield* Effect.promise(async () => {
            const closing = [...open].map((s) => new Promise((resolve) => s.once("close", resolve)))
            for (const session of open) session.close()
            await Promise.all(closing)
          })
          return yield* push.send(message)
        })
      )
    )
    expect(Either.isRight(result)).toBe(true)
    expect(sessions - before).toBe(2)
  })

  it("403 ExpiredProviderToken: a new token and one retry; a second refusal is transient", async () => {
    fresh()
    replies.push({ status: 403, reason: "ExpiredProviderToken" })
    const push = ApnsPush.make(options())
    expect(Either.isRight(await run(Effect.flatMap(push, (p) => p.send(message))))).toBe(true)
    expect(received).toHaveLength(2)
    expect(received[0]!.headers.authorization).not.toBe(received[1]!.headers.authorization)
    verifyJwt(received[1]!.headers.authorization as string)

    fresh()
    replies.push(
      { status: 403, reason: "ExpiredProviderToken" },
      { status: 403, reason: "ExpiredProviderToken" }
    )
    const error = failureOf(await run(Effect.flatMap(push, (p) => p.send(message))))
    expect(error.failure).toBe("transient")
    expect(received).toHaveLength(2)
  })

  it("reads APNs' documented errors: gone, permanent, transient", async () => {
    const cases = [
      [{ status: 410, reason: "Unregistered" }, "gone"],
      [{ status: 400, reason: "BadDeviceToken" }, "gone"],
      [{ status: 400, reason: "DeviceTokenNotForTopic" }, "gone"],
      [{ status: 413, reason: "PayloadTooLarge" }, "permanent"],
      [{ status: 400, reason: "BadTopic" }, "permanent"],
      [{ status: 429, reason: "TooManyRequests" }, "transient"],
      [{ status: 500, reason: "InternalServerError" }, "transient"],
      [{ status: 503, reason: "ServiceUnavailable" }, "transient"]
    ] as const
    await run(
      Effect.flatMap(ApnsPush.make(options()), (push) =>
        Effect.forEach(cases, ([reply, failure]) =>
          Effect.gen(function* () {
            fresh()
            replies.push(reply)
            const error = Either.getLeft(yield* Effect.either(push.send(message))).pipe(Option.getOrThrow)
            expect([reply.reason, error.failure]).toEqual([reply.reason, failure])
            expect(error.message).toContain(reply.reason)
          })
        )
      )
    )
  })

  it("an APNs that never answers is a transient timeout", async () => {
    fresh()
    replies.push({ status: 0 })
    const error = failureOf(
      await run(Effect.flatMap(ApnsPush.make(options({ timeout: "300 millis" })), (p) => p.send(message)))
    )
    expect([error.failure, error.message]).toEqual(["transient", "apns unreachable: no answer within 300 ms"])
  })

  it("a server whose certificate another CA signed is refused: transient, nothing sent", async () => {
    fresh()
    const other = makeTestCertificates("other")
    const error = failureOf(
      await run(Effect.flatMap(ApnsPush.make(options({ ca: Option.some(other.ca) })), (p) => p.send(message)))
    )
    expect(error.failure).toBe("transient")
    expect(received).toHaveLength(0)
  })
})

// ---------------------------------------------------------------------------------------------------------
// Log, failover, configuration

describe("Push contract: log", () => {
  it("accepts every kind (it only logs the kind and title)", async () => {
    for (const subscription of [
      { kind: "fcm", token: "t" },
      { kind: "apns", token: "t" },
      { kind: "webpush", endpoint: "https://push.test/x", keys: { p256dh: "p", auth: "a" } }
    ] as const) {
      expect(Either.isRight(await run(LogPush.make.send({ ...base, subscription })))).toBe(true)
    }
  })
})

describe("Push failover", () => {
  /** A provider for the test: answers from a script and records what it was asked. */
  const scripted = (
    provider: string,
    kinds: PushShape["kinds"],
    outcomes: Array<"sent" | PushError["failure"]>
  ) => {
    const asked: Array<string> = []
    const shape: PushShape = {
      provider,
      kinds,
      send: (message) =>
        Effect.suspend(() => {
          asked.push(message.subscription.kind)
          const outcome = outcomes.shift() ?? "sent"
          return outcome === "sent"
            ? Effect.succeed({ provider })
            : Effect.fail(
                new PushError({
                  provider,
                  failure: outcome,
                  message: `${provider} ${outcome}`,
                  ...(outcome === "transient" ? { retryAfterSeconds: provider.length } : {})
                })
              )
        })
    }
    return { shape, asked }
  }
  const fcmMessage: PushMessage = { ...base, subscription: { kind: "fcm", token: "t" } }

  it("tries only the providers of the subscription's kind, in order, past transient failures", async () => {
    const webpush = scripted("webpush", ["webpush"], [])
    const fcm = scripted("fcm", ["fcm"], ["transient"])
    const log = scripted("log", ["webpush", "fcm", "apns"], [])
    const counted: Array<string> = []
    const push = Failover.make([webpush.shape, fcm.shape, log.shape], (p, o) => counted.push(`${p}:${o}`))
    expect(push.kinds).toEqual(["webpush", "fcm", "apns"])
    const result = await run(push.send(fcmMessage))
    expect(Either.getRight(result).pipe(Option.map((r) => r.provider))).toEqual(Option.some("log"))
    expect([webpush.asked, fcm.asked, log.asked]).toEqual([[], ["fcm"], ["fcm"]])
    expect(counted).toEqual(["fcm:transient", "log:sent"])
  })

  it("gone and permanent stop the list", async () => {
    for (const failure of ["gone", "permanent"] as const) {
      const fcm = scripted("fcm", ["fcm"], [failure])
      const log = scripted("log", ["fcm"], [])
      const error = failureOf(await run(Failover.make([fcm.shape, log.shape]).send(fcmMessage)))
      expect(error.failure).toBe(failure)
      expect(log.asked).toEqual([])
    }
  })

  it("all transient: transient, with the shortest Retry-After and every reason", async () => {
    const first = scripted("apns", ["fcm"], ["transient"])
    const second = scripted("fcm", ["fcm"], ["transient"])
    const error = failureOf(await run(Failover.make([first.shape, second.shape]).send(fcmMessage)))
    expect([error.failure, error.retryAfterSeconds]).toEqual(["transient", 3])
    expect(error.message).toBe("apns transient; fcm transient")
  })

  it("no provider for the kind, or none at all, is permanent", async () => {
    const webpush = scripted("webpush", ["webpush"], [])
    const none = failureOf(await run(Failover.make([webpush.shape]).send(fcmMessage)))
    expect([none.failure, none.message]).toEqual([
      "permanent",
      "no configured push provider (webpush) delivers to fcm subscriptions"
    ])
    const empty = failureOf(await run(Failover.make([]).send(fcmMessage)))
    expect([empty.failure, empty.message, empty.provider]).toEqual([
      "permanent",
      "no push provider is configured",
      ""
    ])
  })
})

describe("Push configuration", () => {
  const read = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>, env: Record<string, string>) =>
    Effect.runPromise(
      Effect.scoped(Effect.either(effect)).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
      )
    )
  const shared = { timeout: TIMEOUT }
  const vapid = WebPush.generateVapidKeys()

  it("PUSH_PROVIDERS: an ordered list; unset or empty is none; an unknown name is refused, naming the variable", async () => {
    expect(Either.getRight(await read(PushConfig.config, {})).pipe(Option.map((c) => c.providers))).toEqual(
      Option.some([])
    )
    expect(
      Either.getRight(await read(PushConfig.config, { PUSH_PROVIDERS: " APNs, webpush ,log" })).pipe(
        Option.map((c) => c.providers)
      )
    ).toEqual(Option.some(["apns", "webpush", "log"]))
    const refused = String(
      Either.getLeft(await read(PushConfig.config, { PUSH_PROVIDERS: "webpush,twilio" })).pipe(
        Option.getOrThrow
      )
    )
    expect(refused).toContain("PUSH_PROVIDERS")
  })

  it("a provider's missing variable stops the start, naming it", async () => {
    const cases = [
      [
        WebPush.fromConfig(shared),
        { PUSH_VAPID_PUBLIC_KEY: vapid.publicKey, PUSH_VAPID_SUBJECT: "mailto:a@b.test" },
        "PUSH_VAPID_PRIVATE_KEY"
      ],
      [
        WebPush.fromConfig(shared),
        { PUSH_VAPID_PUBLIC_KEY: vapid.publicKey, PUSH_VAPID_PRIVATE_KEY: vapid.privateKey },
        "PUSH_VAPID_SUBJECT"
      ],
      [FcmPush.fromConfig(shared), {}, "PUSH_FCM_SERVICE_ACCOUNT"],
      [ApnsPush.fromConfig(shared), { PUSH_APNS_KEY: "x", PUSH_APNS_KEY_ID: "k" }, "PUSH_APNS_KEY"],
      [
        ApnsPush.fromConfig(shared),
        {
          PUSH_APNS_KEY: Crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
            type: "pkcs8",
            format: "pem"
          }) as string,
          PUSH_APNS_KEY_ID: "k",
          PUSH_APNS_TOPIC: "t"
        },
        "PUSH_APNS_TEAM_ID"
      ]
    ] as const
    for (const [effect, env, variable] of cases) {
      const error = String(
        Either.getLeft(await read(effect as Effect.Effect<unknown, unknown, Scope.Scope>, env)).pipe(
          Option.getOrThrow
        )
      )
      expect(error, variable).toContain(variable)
    }
    const subject = String(
      Either.getLeft(
        await read(WebPush.fromConfig(shared), {
          PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
          PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
          PUSH_VAPID_SUBJECT: "ops@tapline.test"
        })
      ).pipe(Option.getOrThrow)
    )
    expect(subject).toContain("mailto: or https:")
  })

  it("PUSH_FCM_SERVICE_ACCOUNT and PUSH_APNS_KEY take the content or a file's path", async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-push-"))
    try {
      const rsa = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey
      const account = JSON.stringify({
        type: "service_account",
        project_id: "p",
        client_email: "e@p.test",
        private_key: rsa.export({ type: "pkcs8", format: "pem" })
      })
      const ec = Crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey
      const p8 = ec.export({ type: "pkcs8", format: "pem" }) as string
      Fs.writeFileSync(Path.join(dir, "account.json"), account)
      Fs.writeFileSync(Path.join(dir, "AuthKey.p8"), p8)
      const apnsEnv = { PUSH_APNS_KEY_ID: "k", PUSH_APNS_TEAM_ID: "t", PUSH_APNS_TOPIC: "test.tapline.app" }
      for (const [effect, env] of [
        [FcmPush.fromConfig(shared), { PUSH_FCM_SERVICE_ACCOUNT: account }],
        [FcmPush.fromConfig(shared), { PUSH_FCM_SERVICE_ACCOUNT: Path.join(dir, "account.json") }],
        [ApnsPush.fromConfig(shared), { ...apnsEnv, PUSH_APNS_KEY: p8 }],
        [ApnsPush.fromConfig(shared), { ...apnsEnv, PUSH_APNS_KEY: Path.join(dir, "AuthKey.p8") }]
      ] as const) {
        const built = await read(effect as Effect.Effect<PushShape, unknown, Scope.Scope>, env)
        expect(Either.isRight(built), JSON.stringify(Object.keys(env))).toBe(true)
      }
      const missing = String(
        Either.getLeft(
          await read(FcmPush.fromConfig(shared), { PUSH_FCM_SERVICE_ACCOUNT: Path.join(dir, "none.json") })
        ).pipe(Option.getOrThrow)
      )
      expect(missing).toContain("PUSH_FCM_SERVICE_ACCOUNT")
      // An RSA key is not an APNs .p8 (EC P-256).
      Fs.writeFileSync(Path.join(dir, "rsa.pem"), rsa.export({ type: "pkcs8", format: "pem" }))
      const wrong = String(
        Either.getLeft(
          await read(ApnsPush.fromConfig(shared), { ...apnsEnv, PUSH_APNS_KEY: Path.join(dir, "rsa.pem") })
        ).pipe(Option.getOrThrow)
      )
      expect(wrong).toContain("PUSH_APNS_KEY")
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("secrets stay redacted: the VAPID private key, a service account's key, an APNs key", async () => {
    const web = Either.getRight(
      await read(WebPush.config, {
        PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
        PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
        PUSH_VAPID_SUBJECT: "https://tapline.test"
      })
    ).pipe(Option.getOrThrow)
    expect(String(web.privateKey)).not.toContain(vapid.privateKey)
    expect(JSON.stringify(web)).not.toContain(vapid.privateKey)
    // A service account whose JSON is broken: the error names the variable, not the content.
    const secret =
      '{"project_id":"p","client_email":"e@p.test","private_key":"-----BEGIN PRIVATE KEY-----\\nsecretsecret\\n"}'
    const error = String(
      Either.getLeft(await read(FcmPush.fromConfig(shared), { PUSH_FCM_SERVICE_ACCOUNT: secret })).pipe(
        Option.getOrThrow
      )
    )
    expect(error).toContain("PUSH_FCM_SERVICE_ACCOUNT")
    expect(error).not.toContain("secretsecret")
    const apns = Either.getRight(
      await read(ApnsPush.config, { PUSH_APNS_KEY: "-----BEGIN PRIVATE KEY-----apnssecret" })
    ).pipe(Option.getOrThrow)
    expect(JSON.stringify(apns)).not.toContain("apnssecret")
  })

  it("the runtime's Push: none configured, every send fails permanently; webpush and log, as named", async () => {
    const pushOf = (env: Record<string, string>) =>
      read(
        Effect.flatMap(Push, (push) =>
          Effect.map(
            Effect.either(push.send({ ...base, subscription: { kind: "apns", token: "t" } })),
            (sent) => ({ push, sent })
          )
        ).pipe(
          Effect.provide(
            PushProviders.layerConfig.pipe(Layer.provide(Metrics.layer), Layer.provideMerge(AppConfig.layer))
          )
        ),
        env
      )
    const none = Either.getRight(await pushOf({})).pipe(Option.getOrThrow)
    expect(none.push.provider).toBe("")
    expect(Either.getLeft(none.sent).pipe(Option.map((e) => [e.failure, e.message]))).toEqual(
      Option.some(["permanent", "no push provider is configured"])
    )
    const named = Either.getRight(
      await pushOf({
        PUSH_PROVIDERS: "webpush,log",
        PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
        PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
        PUSH_VAPID_SUBJECT: "mailto:ops@tapline.test"
      })
    ).pipe(Option.getOrThrow)
    expect(named.push.provider).toBe("webpush,log")
    expect(Either.isRight(named.sent)).toBe(true)
  })
})
