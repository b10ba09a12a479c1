import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http2 from "node:http2"
import { Clock, Config, ConfigError, Duration, Effect, Layer, Option, Redacted } from "effect"
import { retryAfterSeconds } from "../Email/HttpEmail.js"
import { DEFAULT_TTL_SECONDS, jwtPart, span } from "./HttpPush.js"
import { Push, PushError, type PushFailure, type PushMessage } from "./Push.js"
import { required, type SharedSettings } from "./PushConfig.js"

export interface ApnsOptions {
  /** The .p8 signing key (EC P-256, PEM) from the Apple developer account. */
  readonly key: Redacted.Redacted
  readonly keyId: string
  readonly teamId: string
  /** The app's bundle id. */
  readonly topic: string
  /** https://api.push.apple.com, or https://api.sandbox.push.apple.com for development builds. */
  readonly url: string
  /** A CA to trust instead of the system's (tests only). */
  readonly ca: Option.Option<string>
  readonly timeout: Duration.DurationInput
}

/**
 * A provider token is reused for 50 minutes: APNs refuses one older than an hour and one renewed more often
 * than every 20 minutes (TooManyProviderTokenUpdates).
 */
const TOKEN_REUSE_MS = 50 * 60_000

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The provider token: a JWT with the key id and team id, signed ES256 (a raw r‖s signature, not DER). */
export const providerToken = (
  options: Pick<ApnsOptions, "keyId" | "teamId">,
  key: Crypto.KeyObject,
  nowMs: number
) => {
  const header = jwtPart({ alg: "ES256", kid: options.keyId })
  const claims = jwtPart({ iss: options.teamId, iat: Math.floor(nowMs / 1000) })
  const signature = Crypto.sign("sha256", Buffer.from(`${header}.${claims}`), {
    key,
    dsaEncoding: "ieee-p1363"
  }).toString("base64url")
  return `${header}.${claims}.${signature}`
}

/** The alert APNs shows, with the link and message id beside `aps` for the app to read. */
export const payloadOf = (message: PushMessage) =>
  JSON.stringify({
    aps: { alert: { title: message.title, body: message.body } },
    ...(message.url === undefined ? {} : { url: message.url }),
    ...(message.id === undefined ? {} : { id: message.id })
  })

interface Answer {
  readonly status: number
  readonly headers: Http2.IncomingHttpHeaders
  readonly reason: string
}

/**
 * APNs' verdict: 410 (Unregistered) and 400 BadDeviceToken or DeviceTokenNotForTopic mean the token is gone;
 * 429 TooManyRequests, 5xx and 403 (a refused provider token: the operator's key) are transient; any other
 * 4xx refuses this message (PayloadTooLarge, BadTopic…).
 */
export const failureOf = (answer: Answer): PushFailure =>
  answer.status === 410 ||
  (answer.status === 400 &&
    (answer.reason === "BadDeviceToken" || answer.reason === "DeviceTokenNotForTopic"))
    ? "gone"
    : answer.status === 429 || answer.status === 403 || answer.status >= 500
      ? "transient"
      : "permanent"

const transient = (message: string, cause?: unknown) =>
  new PushError({ provider: "apns", failure: "transient", message, cause })

/**
 * Apple Push Notification service over HTTP/2 (node:http2): one session per provider, opened on the first send
 * and again after it closes (APNs closes idle ones, a GOAWAY, a network fault), and an ES256 provider token
 * reused for 50 minutes and renewed once when APNs answers ExpiredProviderToken.
 */
export const make = (options: ApnsOptions) =>
  Effect.gen(function* () {
    const key = Crypto.createPrivateKey(Redacted.value(options.key))
    const millis = Duration.toMillis(options.timeout)
    let session: Http2.ClientHttp2Session | undefined
    let token: { readonly jwt: string; readonly issuedAt: number } | undefined

    const connect = () => {
      if (session !== undefined && !session.closed && !session.destroyed) return session
      const opened = Http2.connect(
        options.url,
        Option.match(options.ca, { onNone: () => ({}), onSome: (ca) => ({ ca }) })
      )
      // A failed or lost connection fails the streams on it; the session's own error needs a listener.
      opened.on("error", () => {})
      opened.on("close", () => {
        if (session === opened) session = undefined
      })
      // An idle session does not hold the process open.
      opened.unref()
      session = opened
      return opened
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => session?.close()))

    /** The provider token in use, or a new one when it is 50 minutes old or is the one APNs just refused. */
    const tokenFor = (refused?: string) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (token === undefined || token.jwt === refused || now - token.issuedAt >= TOKEN_REUSE_MS) {
          token = { jwt: providerToken(options, key, now), issuedAt: now }
        }
        return token.jwt
      })

    /**
     * One request on the current session. A stream that ended before any answer on a session that has closed
     * (APNs' GOAWAY, an idle connection dropped, a refused connect) never reached APNs: it comes back `unsent`,
     * and is tried once more on a new session.
     */
    const attempt = (headers: Http2.OutgoingHttpHeaders, body: string) =>
      Effect.async<Answer | { readonly unsent: PushError }, PushError>((resume) => {
        let done = false
        let answered = false
        let used: Http2.ClientHttp2Session | undefined
        let stream: Http2.ClientHttp2Stream | undefined
        const finish = (result: Effect.Effect<Answer | { readonly unsent: PushError }, PushError>) => {
          if (done) return
          done = true
          clearTimeout(timer)
          resume(result)
        }
        const failed = (message: string, cause?: unknown) => {
          const error = transient(message, cause)
          const unsent = !answered && (used === undefined || used.closed || used.destroyed)
          finish(unsent ? Effect.succeed({ unsent: error }) : Effect.fail(error))
        }
        const timer = setTimeout(() => {
          finish(Effect.fail(transient(`apns unreachable: no answer within ${millis} ms`)))
          stream?.close(Http2.constants.NGHTTP2_CANCEL)
        }, millis)
        try {
          used = connect()
          stream = used.request(headers)
        } catch (cause) {
          failed(`apns unreachable: ${(cause as Error).message}`, cause)
          return
        }
        let responseHeaders: Http2.IncomingHttpHeaders = {}
        const chunks: Array<Buffer> = []
        stream.on("response", (received) => {
          answered = true
          responseHeaders = received
        })
        stream.on("data", (chunk: Buffer) => chunks.push(chunk))
        stream.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8")
          let reason = ""
          try {
            reason = String((JSON.parse(text) as { reason?: unknown }).reason ?? "")
          } catch {
            reason = text.slice(0, 300)
          }
          finish(
            Effect.succeed({ status: Number(responseHeaders[":status"]), headers: responseHeaders, reason })
          )
        })
        stream.on("error", (cause) => failed(`apns unreachable: ${cause.message}`, cause))
        stream.on("close", () => failed(`apns closed the stream (code ${stream?.rstCode ?? "none"})`))
        stream.end(body)
        return Effect.sync(() => {
          done = true
          clearTimeout(timer)
          stream?.close(Http2.constants.NGHTTP2_CANCEL)
        })
      })

    const post = (headers: Http2.OutgoingHttpHeaders, body: string) =>
      Effect.flatMap(attempt(headers, body), (first) =>
        "unsent" in first
          ? Effect.flatMap(attempt(headers, body), (second) =>
              "unsent" in second ? Effect.fail(second.unsent) : Effect.succeed(second)
            )
          : Effect.succeed(first)
      )

    return Push.of({
      provider: "apns",
      kinds: ["apns"],
      send: (message) =>
        Effect.gen(function* () {
          const { subscription } = message
          if (subscription.kind !== "apns") {
            return yield* new PushError({
              provider: "apns",
              failure: "permanent",
              message: `apns cannot deliver to a ${subscription.kind} subscription`
            })
          }
          const now = yield* Clock.currentTimeMillis
          const headers = (jwt: string): Http2.OutgoingHttpHeaders => ({
            ":method": "POST",
            ":path": `/3/device/${encodeURIComponent(subscription.token)}`,
            authorization: `bearer ${jwt}`,
            "apns-topic": options.topic,
            "apns-push-type": "alert",
            "apns-priority": "10",
            "apns-expiration": String(Math.floor(now / 1000) + (message.ttlSeconds ?? DEFAULT_TTL_SECONDS)),
            ...(message.id !== undefined && UUID.test(message.id)
              ? { "apns-id": message.id.toLowerCase() }
              : {}),
            "content-type": "application/json"
          })
          const body = payloadOf(message)
          const jwt = yield* tokenFor()
          let answer = yield* post(headers(jwt), body)
          if (answer.status === 403 && answer.reason === "ExpiredProviderToken") {
            answer = yield* post(headers(yield* tokenFor(jwt)), body)
          }
          if (answer.status === 200) {
            const id = answer.headers["apns-id"]
            return typeof id === "string" ? { provider: "apns", providerMessageId: id } : { provider: "apns" }
          }
          const retry = answer.headers["retry-after"]
          const seconds = retryAfterSeconds(typeof retry === "string" ? retry : null)
          return yield* new PushError({
            provider: "apns",
            failure: failureOf(answer),
            message: `apns answered ${answer.status}: ${answer.reason}`,
            ...(seconds === undefined ? {} : { retryAfterSeconds: seconds }),
            // Every 403 of APNs is about the provider token or certificate (InvalidProviderToken,
            // ExpiredProviderToken again, Forbidden): the account's, not the device's.
            ...(answer.status === 403 ? { unauthorized: true } : {})
          })
        }).pipe(span("apns"))
    })
  })

export const layer = (options: ApnsOptions) => Layer.scoped(Push, make(options))

/** A PEM given inline, or the path of a file holding it; errors name the variable, never the content. */
const pemOf = (variable: string, value: string) =>
  value.trim().startsWith("-----BEGIN")
    ? Effect.succeed(value)
    : Effect.try({
        try: () => Fs.readFileSync(value.trim(), "utf8"),
        catch: (cause) =>
          ConfigError.InvalidData(
            [variable],
            `expected a PEM or a readable file: ${(cause as Error).message}`
          )
      })

export const config = Config.all({
  key: Config.option(Config.redacted("PUSH_APNS_KEY")),
  keyId: Config.option(Config.string("PUSH_APNS_KEY_ID")),
  teamId: Config.option(Config.string("PUSH_APNS_TEAM_ID")),
  topic: Config.option(Config.string("PUSH_APNS_TOPIC")),
  url: Config.url("PUSH_APNS_URL").pipe(
    Config.map((url) => url.origin),
    Config.withDefault("https://api.push.apple.com")
  ),
  ca: Config.option(Config.string("PUSH_APNS_CA"))
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.gen(function* () {
    const own = yield* config
    const setting = yield* required("apns", own.key, "PUSH_APNS_KEY")
    const pem = yield* pemOf("PUSH_APNS_KEY", Redacted.value(setting))
    const key = yield* Effect.try({
      try: () => Crypto.createPrivateKey(pem),
      catch: () => ConfigError.InvalidData(["PUSH_APNS_KEY"], "expected the .p8 key (a PEM private key)")
    })
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
      return yield* Effect.fail(
        ConfigError.InvalidData(["PUSH_APNS_KEY"], "expected the .p8 key: an EC P-256 private key")
      )
    }
    const ca = Option.isSome(own.ca) ? Option.some(yield* pemOf("PUSH_APNS_CA", own.ca.value)) : Option.none()
    return yield* make({
      key: Redacted.make(pem),
      keyId: yield* required("apns", own.keyId, "PUSH_APNS_KEY_ID"),
      teamId: yield* required("apns", own.teamId, "PUSH_APNS_TEAM_ID"),
      topic: yield* required("apns", own.topic, "PUSH_APNS_TOPIC"),
      url: own.url,
      ca,
      ...shared
    })
  })

export const layerConfig = (shared: SharedSettings) => Layer.scoped(Push, fromConfig(shared))
