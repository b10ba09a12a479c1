import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import { Clock, Config, ConfigError, type Duration, Effect, Layer, Redacted } from "effect"
import { type Answer, answerError, jwtPart, request, span } from "./HttpPush.js"
import { Push, PushError, type PushFailure, type PushMessage } from "./Push.js"
import { required, type SharedSettings } from "./PushConfig.js"

/** The fields of a Google service-account key file that FCM's OAuth exchange uses. */
export interface ServiceAccount {
  readonly projectId: string
  readonly clientEmail: string
  /** The PEM private key (RSA) that signs the JWT assertion. */
  readonly privateKey: Redacted.Redacted
  readonly privateKeyId?: string
}

export interface FcmOptions {
  readonly serviceAccount: ServiceAccount
  /** https://oauth2.googleapis.com/token; a test points it at its loopback peer. */
  readonly tokenUrl: string
  /** https://fcm.googleapis.com; a test points it at its loopback peer. */
  readonly apiUrl: string
  readonly timeout: Duration.DurationInput
}

const SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
/** An access token is renewed this long before Google says it expires, so none expires in flight. */
const RENEW_BEFORE_MS = 5 * 60_000

/** The JWT assertion of RFC 7523 that Google's token endpoint exchanges for an access token, signed RS256. */
export const assertion = (
  account: ServiceAccount,
  key: Crypto.KeyObject,
  tokenUrl: string,
  nowMs: number
) => {
  const iat = Math.floor(nowMs / 1000)
  const header = jwtPart({
    alg: "RS256",
    typ: "JWT",
    ...(account.privateKeyId === undefined ? {} : { kid: account.privateKeyId })
  })
  const claims = jwtPart({ iss: account.clientEmail, scope: SCOPE, aud: tokenUrl, iat, exp: iat + 3600 })
  const signature = Crypto.sign("sha256", Buffer.from(`${header}.${claims}`), key).toString("base64url")
  return `${header}.${claims}.${signature}`
}

/** The HTTP v1 message: a notification, the link and id as data, and each platform's lifetime and link. */
export const messageOf = (message: PushMessage, token: string, nowMs: number) => {
  const data = {
    ...(message.id === undefined ? {} : { id: message.id }),
    ...(message.url === undefined ? {} : { url: message.url })
  }
  const ttl = message.ttlSeconds
  // FCM opens webpush.fcm_options.link on a click, and takes only https links there.
  const link = message.url?.startsWith("https://") === true ? message.url : undefined
  return {
    message: {
      token,
      notification: { title: message.title, body: message.body },
      ...(Object.keys(data).length === 0 ? {} : { data }),
      ...(ttl === undefined ? {} : { android: { ttl: `${ttl}s` } }),
      ...(ttl === undefined && link === undefined
        ? {}
        : {
            webpush: {
              ...(ttl === undefined ? {} : { headers: { TTL: String(ttl) } }),
              ...(link === undefined ? {} : { fcm_options: { link } })
            }
          }),
      ...(ttl === undefined
        ? {}
        : { apns: { headers: { "apns-expiration": String(Math.floor(nowMs / 1000) + ttl) } } })
    }
  }
}

interface GoogleError {
  readonly status?: string
  readonly message?: string
  readonly details?: ReadonlyArray<{
    readonly "@type"?: string
    readonly errorCode?: string
    readonly fieldViolations?: ReadonlyArray<{ readonly field?: string }>
  }>
}

const parse = (body: string): unknown => {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

/**
 * FCM's verdict, from the FcmError errorCode its documentation lists (error.details[]), else the status:
 * UNREGISTERED, or INVALID_ARGUMENT about the token, means the token is gone; SENDER_ID_MISMATCH (the token
 * belongs to another project) is permanent; QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL and THIRD_PARTY_AUTH_ERROR (an
 * APNs or Web Push credential of the project) are transient. A 401 or 403 left (UNAUTHENTICATED, PERMISSION_DENIED:
 * the service account revoked or without the role) and THIRD_PARTY_AUTH_ERROR are the account's, not the
 * device's: `unauthorized`, transient.
 */
export const verdict = (
  answer: Answer
): { readonly failure: PushFailure; readonly reason: string; readonly unauthorized: boolean } => {
  const error = ((parse(answer.body) as { error?: GoogleError } | undefined)?.error ?? {}) as GoogleError
  const details = error.details ?? []
  const code =
    details.find((d) => d["@type"]?.endsWith("google.firebase.fcm.v1.FcmError"))?.errorCode ?? error.status
  const aboutToken =
    details.some((d) => d.fieldViolations?.some((v) => v.field === "message.token") === true) ||
    /registration token/i.test(error.message ?? "")
  const reason = `${code ?? "no error code"}: ${error.message ?? answer.body}`
  const status = answer.status
  const refused = status === 401 || status === 403
  switch (code) {
    case "UNREGISTERED":
      return { failure: "gone", reason, unauthorized: false }
    case "INVALID_ARGUMENT":
      return { failure: aboutToken ? "gone" : "permanent", reason, unauthorized: false }
    case "SENDER_ID_MISMATCH":
      // A 403 about this token (another project's), not about our account.
      return { failure: "permanent", reason, unauthorized: false }
    case "QUOTA_EXCEEDED":
    case "UNAVAILABLE":
    case "INTERNAL":
      return { failure: "transient", reason, unauthorized: refused }
    case "THIRD_PARTY_AUTH_ERROR":
      return { failure: "transient", reason, unauthorized: true }
  }
  const transient = status === 429 || status === 408 || refused || status >= 500
  return { failure: transient ? "transient" : "permanent", reason, unauthorized: refused }
}

/**
 * Firebase Cloud Messaging HTTP v1, by hand: a service-account JWT (RS256) exchanged at Google's token endpoint
 * for an access token, kept until shortly before it expires and renewed once when FCM answers 401; then
 * `POST /v1/projects/{project}/messages:send`. The receipt is FCM's message name.
 */
export const make = (options: FcmOptions) =>
  Effect.gen(function* () {
    const account = options.serviceAccount
    const key = Crypto.createPrivateKey(Redacted.value(account.privateKey))
    // One exchange at a time: concurrent sends with no token wait for the one being fetched.
    const lock = yield* Effect.makeSemaphore(1)
    let cached: { readonly token: Redacted.Redacted; readonly renewAt: number } | undefined

    const exchange = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const answer = yield* request(
        "fcm",
        options.tokenUrl,
        {
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
            assertion: assertion(account, key, options.tokenUrl, now)
          }).toString()
        },
        options.timeout
      )
      const token = parse(answer.body) as { access_token?: unknown; expires_in?: unknown } | undefined
      if (answer.status !== 200 || typeof token?.access_token !== "string") {
        // A refused assertion (a revoked or deleted key: Google's 400 invalid_grant, 401 invalid_client; a clock
        // off) is the account's, the operator's to fix: transient and `unauthorized`. A 5xx is Google's outage.
        const refused = answer.status === 400 || answer.status === 401 || answer.status === 403
        return yield* answerError(
          "fcm",
          "transient",
          answer,
          `token exchange refused: ${answer.body}`,
          refused
        )
      }
      const lifetime = typeof token.expires_in === "number" ? token.expires_in * 1000 : 3_600_000
      cached = {
        token: Redacted.make(token.access_token),
        renewAt: now + Math.max(0, lifetime - RENEW_BEFORE_MS)
      }
      return cached.token
    })

    /** The cached access token, or a new one when it is due or is the one FCM just refused (`refused`). */
    const accessToken = (refused?: Redacted.Redacted) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          if (cached !== undefined && cached.token !== refused && now < cached.renewAt) return cached.token
          return yield* exchange
        })
      )

    const url = new URL(`/v1/projects/${encodeURIComponent(account.projectId)}/messages:send`, options.apiUrl)
      .href

    const post = (message: PushMessage, token: string, access: Redacted.Redacted) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        request(
          "fcm",
          url,
          {
            headers: {
              authorization: `Bearer ${Redacted.value(access)}`,
              "content-type": "application/json; charset=utf-8"
            },
            body: JSON.stringify(messageOf(message, token, now))
          },
          options.timeout
        )
      )

    return Push.of({
      provider: "fcm",
      kinds: ["fcm"],
      send: (message) =>
        Effect.gen(function* () {
          const { subscription } = message
          if (subscription.kind !== "fcm") {
            return yield* new PushError({
              provider: "fcm",
              failure: "permanent",
              message: `fcm cannot deliver to a ${subscription.kind} subscription`
            })
          }
          const access = yield* accessToken()
          let answer = yield* post(message, subscription.token, access)
          // An access token revoked or expired early: one new token, one more try.
          if (answer.status === 401)
            answer = yield* post(message, subscription.token, yield* accessToken(access))
          if (answer.status === 200) {
            const name = (parse(answer.body) as { name?: unknown } | undefined)?.name
            return typeof name === "string"
              ? { provider: "fcm", providerMessageId: name }
              : { provider: "fcm" }
          }
          const { failure, reason, unauthorized } = verdict(answer)
          return yield* answerError("fcm", failure, answer, reason, unauthorized)
        }).pipe(span("fcm"))
    })
  })

export const layer = (options: FcmOptions) => Layer.effect(Push, make(options))

/**
 * PUSH_FCM_SERVICE_ACCOUNT: the key file's JSON itself, or the path of the file. Errors name the variable and
 * what is wrong, never the content.
 */
export const serviceAccountOf = (
  setting: Redacted.Redacted
): Effect.Effect<ServiceAccount, ConfigError.ConfigError> =>
  Effect.gen(function* () {
    const invalid = (why: string) => ConfigError.InvalidData(["PUSH_FCM_SERVICE_ACCOUNT"], why)
    const value = Redacted.value(setting).trim()
    const text = value.startsWith("{")
      ? value
      : yield* Effect.try({
          try: () => Fs.readFileSync(value, "utf8"),
          catch: (cause) =>
            invalid(`expected the service account's JSON or a readable file: ${(cause as Error).message}`)
        })
    const json = parse(text) as Record<string, unknown> | undefined
    if (json === undefined || typeof json !== "object")
      return yield* Effect.fail(invalid("expected a service account's JSON"))
    const missing = ["project_id", "client_email", "private_key"].filter((f) => typeof json[f] !== "string")
    if (missing.length > 0)
      return yield* Effect.fail(invalid(`the service account lacks ${missing.join(", ")}`))
    const privateKey = json.private_key as string
    yield* Effect.try({
      try: () => Crypto.createPrivateKey(privateKey),
      catch: () => invalid("the service account's private_key is not a PEM private key")
    })
    return {
      projectId: json.project_id as string,
      clientEmail: json.client_email as string,
      privateKey: Redacted.make(privateKey),
      ...(typeof json.private_key_id === "string" ? { privateKeyId: json.private_key_id } : {})
    }
  })

export const config = Config.all({
  serviceAccount: Config.option(Config.redacted("PUSH_FCM_SERVICE_ACCOUNT")),
  tokenUrl: Config.url("PUSH_FCM_TOKEN_URL").pipe(
    Config.map((url) => url.href),
    Config.withDefault("https://oauth2.googleapis.com/token")
  ),
  apiUrl: Config.url("PUSH_FCM_API_URL").pipe(
    Config.map((url) => url.href),
    Config.withDefault("https://fcm.googleapis.com")
  )
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.gen(function* () {
    const own = yield* config
    const setting = yield* required("fcm", own.serviceAccount, "PUSH_FCM_SERVICE_ACCOUNT")
    const serviceAccount = yield* serviceAccountOf(setting)
    return yield* make({ serviceAccount, tokenUrl: own.tokenUrl, apiUrl: own.apiUrl, ...shared })
  })

export const layerConfig = (shared: SharedSettings) => Layer.effect(Push, fromConfig(shared))
