import { Context, Data, type Effect } from "effect"

/** Where a push goes: a browser's Web Push subscription, or an FCM or APNs device token. */
export type PushSubscription =
  | {
      readonly kind: "webpush"
      readonly endpoint: string
      readonly keys: { readonly p256dh: string; readonly auth: string }
    }
  | { readonly kind: "fcm"; readonly token: string }
  | { readonly kind: "apns"; readonly token: string }

export type PushKind = PushSubscription["kind"]

/**
 * Why a push failed: `transient` (a 5xx, a timeout, a 429, a rejected credential) may succeed later;
 * `permanent` (the provider refused this message: too large, malformed) fails the same way every time; `gone`
 * (the subscription expired or the token is invalid or unregistered: Web Push 404/410, FCM UNREGISTERED, APNs
 * 410 or BadDeviceToken) means the subscription must be removed and never tried again.
 */
export type PushFailure = "transient" | "permanent" | "gone"

export class PushError extends Data.TaggedError("PushError")<{
  readonly provider: string
  readonly failure: PushFailure
  readonly message: string
  readonly retryAfterSeconds?: number
  /**
   * The provider refused our credential, not the device (an FCM service account whose key was revoked, a project
   * without the permission, APNs' InvalidProviderToken, a VAPID key the push service rejects). Always with
   * `transient`: the subscription stays and the message is retried, while the operator is told
   * (tapline_push_total's outcome `unauthorized`, a warning naming the provider).
   */
  readonly unauthorized?: boolean
  readonly cause?: unknown
}> {}

export interface PushMessage {
  /** Stable across retries of the same message (APNs' apns-id, FCM's and Web Push's topic where they fit). */
  readonly id?: string
  readonly subscription: PushSubscription
  readonly title: string
  readonly body: string
  /** Opened when the notification is tapped. */
  readonly url?: string
  /** How long the push service may hold it for an offline device. */
  readonly ttlSeconds?: number
}

export interface PushReceipt {
  readonly provider: string
  /** The provider's id for the message, when it gives one (FCM's name, APNs' apns-id, Web Push's Location). */
  readonly providerMessageId?: string
}

export interface PushShape {
  readonly provider: string
  /** The subscription kinds this provider delivers to. */
  readonly kinds: ReadonlyArray<PushKind>
  readonly send: (message: PushMessage) => Effect.Effect<PushReceipt, PushError>
}

/**
 * Outgoing push behind one interface, one small file per provider (Web Push, FCM HTTP v1, APNs, log). A
 * subscription belongs to one kind, so `Failover` over PUSH_PROVIDERS tries, in order, the providers that deliver
 * to its kind; a push no configured provider delivers to is a permanent failure.
 */
export class Push extends Context.Tag("@tapline/server/Push")<Push, PushShape>() {}
