import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Clock, Effect, Either } from "effect"
import type { CallbacksSettings } from "./CallbacksConfig.js"
import { deliveryDetail } from "./DeliveryStatus.js"
import { accepted, badRequest, type Count, forbidden, fresh, mediaType, phoneOf } from "./Replies.js"
import type { SmsCallbacks } from "./SmsCallbacks.js"
import type { SnsCertificates } from "./SnsCertificates.js"
import { parseSnsMessage, type SnsMessage, verifySnsSignature } from "./SnsSignature.js"

const MESSAGE_ID = /^[A-Za-z0-9-]{1,100}$/

const unavailable = HttpServerResponse.unsafeJson(
  { _tag: "ServiceUnavailable", message: "the SNS signing certificate could not be fetched; SNS retries" },
  { status: 503, headers: { "retry-after": "30" } }
)

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const text = (value: unknown) => (typeof value === "string" ? value : undefined)

/** What a notification's Message says, for the SMS events Tapline takes; anything else is ignored. */
export type SnsEvent =
  | {
      readonly _tag: "status"
      readonly messageId: string
      readonly word: string
      readonly detail: string | null
    }
  | { readonly _tag: "inbound"; readonly from: string | undefined; readonly text: string }
  | { readonly _tag: "other" }

/**
 * The two SMS payloads an SNS topic carries: AWS End User Messaging SMS events (`messageId`, `messageStatus`,
 * `messageStatusDescription`) and SNS's own SMS delivery log (`notification.messageId`, `status`,
 * `delivery.providerResponse`) for status; a two-way SMS message (`originationNumber`, `messageBody`) inbound.
 */
export const snsEvent = (message: string): SnsEvent => {
  const body = parseJson(message)
  if (typeof body !== "object" || body === null) return { _tag: "other" }
  const record = body as Record<string, unknown>
  if (text(record.messageBody) !== undefined && text(record.originationNumber) !== undefined)
    return { _tag: "inbound", from: phoneOf(text(record.originationNumber)), text: text(record.messageBody)! }
  const eventId = text(record.messageId)
  const eventStatus = text(record.messageStatus)
  if (eventId !== undefined && eventStatus !== undefined)
    return {
      _tag: "status",
      messageId: eventId,
      word: eventStatus,
      detail: deliveryDetail(text(record.messageStatusDescription))
    }
  const notification = record.notification as Record<string, unknown> | undefined
  const delivery = record.delivery as Record<string, unknown> | undefined
  const logId = text(notification?.messageId)
  const logStatus = text(record.status)
  if (logId !== undefined && logStatus !== undefined)
    return {
      _tag: "status",
      messageId: logId,
      word: logStatus,
      detail: deliveryDetail(text(delivery?.providerResponse))
    }
  return { _tag: "other" }
}

/**
 * `POST /hooks/sms/sns`: an HTTP(S) subscription of the SNS topics in SNS_TOPIC_ARNS. Every message is
 * checked in this order, and the first failure answers: a JSON SNS message (400), a topic taken here (403),
 * a signing certificate on SNS's own host (403), the signature (403), the replay window (403). Only then is
 * a SubscriptionConfirmation confirmed or a Notification applied.
 */
export const snsHandler = (
  callbacks: SmsCallbacks,
  certificates: SnsCertificates,
  settings: CallbacksSettings,
  count: Count
) => {
  const apply = (message: SnsMessage) =>
    Effect.gen(function* () {
      if (message.Type === "SubscriptionConfirmation") {
        const confirmed = yield* Effect.either(certificates.confirm(message.SubscribeURL ?? ""))
        yield* count("sns", "subscription", Either.isRight(confirmed) ? "confirmed" : "confirm_failed")
        return Either.isRight(confirmed) ? accepted : forbidden("the SubscribeURL could not be confirmed")
      }
      if (message.Type === "UnsubscribeConfirmation") {
        yield* count("sns", "subscription", "unsubscribed")
        return accepted
      }
      if (!MESSAGE_ID.test(message.MessageId)) {
        yield* count("sns", "status", "malformed")
        return badRequest("MessageId is not one SNS gives")
      }
      const event = snsEvent(message.Message)
      if (event._tag === "status") {
        if (!MESSAGE_ID.test(event.messageId)) {
          yield* count("sns", "status", "malformed")
          return badRequest("the event's messageId is not one SNS gives")
        }
        const outcome = yield* callbacks.status({
          provider: "sns",
          callbackId: message.MessageId,
          providerMessageId: event.messageId,
          word: event.word,
          detail: event.detail
        })
        yield* count("sns", "status", outcome)
        return accepted
      }
      if (event._tag === "inbound" && event.from !== undefined) {
        const { reply, result } = yield* callbacks.inbound({
          provider: "sns",
          callbackId: message.MessageId,
          from: event.from,
          text: event.text
        })
        yield* count("sns", "inbound", result)
        if (reply !== null) yield* callbacks.replyInBackground(event.from, reply)
        return accepted
      }
      yield* count("sns", event._tag === "inbound" ? "inbound" : "status", "ignored")
      return accepted
    })

  return Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const type = mediaType(request)
    // SNS posts JSON as text/plain; a test or a proxy may say application/json.
    const body =
      type === "text/plain" || type === "application/json" ? yield* Effect.either(request.text) : undefined
    const message =
      body === undefined || Either.isLeft(body) ? undefined : parseSnsMessage(parseJson(body.right))
    const kind = message?.Type === "Notification" || message === undefined ? "status" : "subscription"
    if (message === undefined) {
      yield* count("sns", kind, "malformed")
      return badRequest("expected an SNS message (JSON) as text/plain")
    }
    if (!settings.snsTopicArns.includes(message.TopicArn)) {
      yield* count("sns", kind, "refused_topic")
      return forbidden("the topic is not one this endpoint takes")
    }
    const certificate = yield* Effect.either(certificates.certificate(message.SigningCertURL))
    if (Either.isLeft(certificate)) {
      yield* count("sns", kind, "certificate_unavailable")
      return certificate.left.refused ? forbidden("the signing certificate could not be had") : unavailable
    }
    if (certificate.right === undefined || !verifySnsSignature(message, certificate.right)) {
      yield* count("sns", kind, "refused_signature")
      return forbidden("the message's signature does not verify")
    }
    if (!fresh(yield* Clock.currentTimeMillis, Date.parse(message.Timestamp))) {
      yield* count("sns", kind, "refused_replay")
      return forbidden("the message's Timestamp is outside the replay window")
    }
    return yield* apply(message)
  })
}
