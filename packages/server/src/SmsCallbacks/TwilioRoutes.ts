import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as UrlParams from "@effect/platform/UrlParams"
import { Effect, Option, Redacted } from "effect"
import { escapeHtml } from "../Mail/MailTemplates.js"
import type { CallbacksSettings } from "./CallbacksConfig.js"
import { deliveryDetail } from "./DeliveryStatus.js"
import {
  accepted,
  badRequest,
  type Count,
  FORM,
  forbidden,
  formParams,
  type Kind,
  mediaType,
  param,
  phoneOf
} from "./Replies.js"
import type { SmsCallbacks } from "./SmsCallbacks.js"
import { verifyTwilio } from "./TwilioSignature.js"

/** A message's SID: SM (SMS) or MM (MMS) and 32 hex digits. */
const SID = /^(SM|MM)[0-9a-f]{32}$/

/** TwiML: Twilio sends each <Message> as a reply to the sender. */
const twiml = (message: string | null) =>
  HttpServerResponse.text(
    `<?xml version="1.0" encoding="UTF-8"?><Response>${message === null ? "" : `<Message>${escapeHtml(message)}</Message>`}</Response>`,
    { contentType: "text/xml; charset=utf-8" }
  )

/**
 * `POST /hooks/sms/twilio/status` (a message's StatusCallback) and `POST /hooks/sms/twilio/inbound` (the
 * number's "A message comes in" webhook). Twilio posts a form signed in X-Twilio-Signature over the URL it
 * was given, which is PUBLIC_URL's origin and the path (and query) it called here.
 */
export const twilioHandlers = (callbacks: SmsCallbacks, settings: CallbacksSettings, count: Count) => {
  /** The form's parameters when the request is Twilio's; otherwise the refusal to answer with. */
  const verified = (kind: Kind) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (mediaType(request) !== FORM) {
        yield* count("twilio", kind, "malformed")
        return { refusal: badRequest(`expected ${FORM}`) }
      }
      const params = yield* formParams(request)
      if (Option.isNone(params)) {
        yield* count("twilio", kind, "malformed")
        return { refusal: badRequest("the form could not be read") }
      }
      const token = settings.twilioAuthToken
      const url = settings.publicUrl.origin + request.url
      const header = request.headers["x-twilio-signature"]
      if (Option.isNone(token) || !verifyTwilio(Redacted.value(token.value), url, params.value, header)) {
        yield* count("twilio", kind, "refused_signature")
        return { refusal: forbidden("the X-Twilio-Signature does not verify") }
      }
      return { params: params.value as UrlParams.UrlParams }
    })

  const status = Effect.gen(function* () {
    const checked = yield* verified("status")
    if ("refusal" in checked) return checked.refusal
    const sid = param(checked.params, "MessageSid") ?? ""
    const word = param(checked.params, "MessageStatus") ?? ""
    if (!SID.test(sid) || !/^[a-z_]{1,30}$/.test(word)) {
      yield* count("twilio", "status", "malformed")
      return badRequest("MessageSid and MessageStatus are required")
    }
    const outcome = yield* callbacks.status({
      provider: "twilio",
      callbackId: `${sid}:${word}`,
      providerMessageId: sid,
      word,
      detail: deliveryDetail(param(checked.params, "ErrorCode"), param(checked.params, "ErrorMessage"))
    })
    yield* count("twilio", "status", outcome)
    return accepted
  })

  const inbound = Effect.gen(function* () {
    const checked = yield* verified("inbound")
    if ("refusal" in checked) return checked.refusal
    const sid = param(checked.params, "MessageSid") ?? ""
    const from = phoneOf(param(checked.params, "From"))
    if (!SID.test(sid)) {
      yield* count("twilio", "inbound", "malformed")
      return badRequest("MessageSid is required")
    }
    // A WhatsApp sender or a short code names no registrant's phone: nothing to change, nothing to answer.
    if (from === undefined) {
      yield* count("twilio", "inbound", "ignored")
      return twiml(null)
    }
    const { reply, result } = yield* callbacks.inbound({
      provider: "twilio",
      callbackId: sid,
      from,
      text: param(checked.params, "Body") ?? ""
    })
    yield* count("twilio", "inbound", result)
    return twiml(reply)
  })

  return { status, inbound } as const
}
