import * as Crypto from "node:crypto"
import { Config, ConfigError, type Duration, Effect, Either, Layer, Redacted } from "effect"
import { categoryOf, reasonOf } from "../Outbound/OutboundErrors.js"
import { answerError, request, span } from "./HttpPush.js"
import { Push, PushError } from "./Push.js"
import { required, type SharedSettings } from "./PushConfig.js"

export interface WebPushOptions {
  /** The VAPID key pair (P-256, base64url: the public key uncompressed, 65 bytes; the private key 32 bytes). */
  readonly publicKey: string
  readonly privateKey: Redacted.Redacted
  /** mailto: or https: — who the push service may contact about our traffic. */
  readonly subject: string
  readonly timeout: Duration.DurationInput
  /**
   * How endpoints are dialled. The runtime's goes through the outbound policy (OUTBOUND_ALLOW): an endpoint
   * comes from whoever holds a page token, and must not reach loopback, private or metadata addresses.
   */
  readonly fetch?: typeof globalThis.fetch
}

/**
 * What the service worker of the hosted page receives, decrypted: the notification's title and body, the link
 * it opens, and the message id (so a worker can drop a duplicate).
 */
export const payloadOf = (message: { title: string; body: string; url?: string; id?: string }) =>
  JSON.stringify({
    title: message.title,
    body: message.body,
    ...(message.url === undefined ? {} : { url: message.url }),
    ...(message.id === undefined ? {} : { id: message.id })
  })

/**
 * A Topic (RFC 8030 §5.4: at most 32 base64url characters) from the message id, so a retried message replaces
 * its own undelivered copy on the push service instead of arriving twice. A UUID without its dashes fits.
 */
const topicOf = (id: string | undefined) => {
  const topic = id?.replace(/-/g, "")
  return topic !== undefined && /^[A-Za-z0-9_-]{1,32}$/.test(topic) ? topic : undefined
}

/** web-push's headers as fetch takes them: strings, and no Content-Length (fetch sets it from the body). */
const headersOf = (headers: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => name.toLowerCase() !== "content-length")
      .map(([name, value]) => [name, String(value)])
  )

/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and an aes128gcm payload (RFC 8291). web-push builds the request
 * (encryption, VAPID JWT, headers); we send it ourselves, because its sendNotification insists on https and
 * has no deadline of ours. 201 is accepted (Location names the message); 404/410 mean the subscription is gone;
 * 400/413 refuse this message; 429 and 5xx are transient.
 */
export const make = (options: WebPushOptions) =>
  Effect.gen(function* () {
    // Loaded here, not at start: a server that sends no Web Push never loads web-push.
    const webPush = (yield* Effect.promise(() => import("web-push"))).default
    return Push.of({
      provider: "webpush",
      kinds: ["webpush"],
      send: (message) =>
        Effect.gen(function* () {
          const { subscription } = message
          if (subscription.kind !== "webpush") {
            return yield* new PushError({
              provider: "webpush",
              failure: "permanent",
              message: `webpush cannot deliver to a ${subscription.kind} subscription`
            })
          }
          const topic = topicOf(message.id)
          const details = yield* Effect.try({
            try: () =>
              webPush.generateRequestDetails(
                { endpoint: subscription.endpoint, keys: subscription.keys },
                payloadOf(message),
                {
                  vapidDetails: {
                    subject: options.subject,
                    publicKey: options.publicKey,
                    privateKey: Redacted.value(options.privateKey)
                  },
                  contentEncoding: "aes128gcm",
                  ...(message.ttlSeconds === undefined ? {} : { TTL: message.ttlSeconds }),
                  ...(topic === undefined ? {} : { topic })
                }
              ),
            // The keys were checked at start: what web-push refuses now is the subscription (a bad p256dh).
            catch: (cause) =>
              new PushError({
                provider: "webpush",
                failure: "permanent",
                message: `webpush cannot encrypt for this subscription: ${(cause as Error).message}`,
                cause
              })
          })
          const answer = yield* request(
            "webpush",
            details.endpoint,
            {
              headers: headersOf(details.headers as Record<string, unknown>),
              body: details.body ?? "",
              ...(options.fetch === undefined ? {} : { fetch: options.fetch })
            },
            options.timeout
          ).pipe(
            // An endpoint the outbound policy refuses never will be reached: gone, so it is removed.
            Effect.mapError((error) =>
              error.cause !== undefined && categoryOf(error.cause) === "refused by the outbound policy"
                ? new PushError({
                    provider: "webpush",
                    failure: "gone",
                    message: `webpush endpoint refused: ${reasonOf(error.cause)}`
                  })
                : error
            )
          )
          const status = answer.status
          if (status >= 200 && status < 300) {
            const location = answer.headers.get("location")
            return location === null
              ? { provider: "webpush" }
              : { provider: "webpush", providerMessageId: location }
          }
          // 401/403: the push service refused our VAPID JWT (a key pair changed or blocked): ours, not the device's.
          const refused = status === 401 || status === 403
          return yield* answerError(
            "webpush",
            status === 404 || status === 410
              ? "gone"
              : status === 429 || status === 408 || refused || status >= 500
                ? "transient"
                : "permanent",
            answer,
            answer.body,
            refused
          )
        }).pipe(span("webpush"))
    })
  })

export const layer = (options: WebPushOptions) => Layer.effect(Push, make(options))

/** A P-256 public key as VAPID carries it: base64url of the 65-byte uncompressed point. */
const isPublicKey = (key: string) => {
  const bytes = Buffer.from(key, "base64url")
  return bytes.length === 65 && bytes[0] === 0x04
}

const vapidSubject = Config.string().pipe(
  Config.mapOrFail((subject) =>
    /^(mailto:\S+@\S+|https:\/\/\S+)$/.test(subject)
      ? Either.right(subject)
      : Either.left(ConfigError.InvalidData([], "expected a mailto: or https: URL"))
  ),
  Config.nested("PUSH_VAPID_SUBJECT")
)

export const config = Config.all({
  publicKey: Config.option(
    Config.string().pipe(
      Config.validate({
        message: "expected a VAPID public key: base64url of a 65-byte P-256 point (tapline push:vapid-keys)",
        validation: isPublicKey
      }),
      Config.nested("PUSH_VAPID_PUBLIC_KEY")
    )
  ),
  privateKey: Config.option(
    Config.redacted().pipe(
      Config.validate({
        message: "expected a VAPID private key: base64url of 32 bytes (tapline push:vapid-keys)",
        validation: (key) => Buffer.from(Redacted.value(key), "base64url").length === 32
      }),
      Config.nested("PUSH_VAPID_PRIVATE_KEY")
    )
  ),
  subject: Config.option(vapidSubject)
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.gen(function* () {
    const own = yield* config
    const publicKey = yield* required("webpush", own.publicKey, "PUSH_VAPID_PUBLIC_KEY")
    const privateKey = yield* required("webpush", own.privateKey, "PUSH_VAPID_PRIVATE_KEY")
    const subject = yield* required("webpush", own.subject, "PUSH_VAPID_SUBJECT")
    return yield* make({
      publicKey,
      privateKey,
      subject,
      timeout: shared.timeout,
      ...(shared.endpointFetch === undefined ? {} : { fetch: shared.endpointFetch })
    })
  })

export const layerConfig = (shared: SharedSettings) => Layer.effect(Push, fromConfig(shared))

/**
 * A fresh VAPID key pair, as PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY take it (what web-push's
 * generateVAPIDKeys makes, from node:crypto alone: the CLI needs no web-push for it).
 */
export const generateVapidKeys = (): { readonly publicKey: string; readonly privateKey: string } => {
  const ecdh = Crypto.createECDH("prime256v1")
  ecdh.generateKeys()
  // A private key with leading zero bytes comes back shorter: VAPID wants all 32.
  const privateKey = ecdh.getPrivateKey()
  return {
    publicKey: ecdh.getPublicKey().toString("base64url"),
    privateKey: Buffer.concat([Buffer.alloc(32 - privateKey.length), privateKey]).toString("base64url")
  }
}
