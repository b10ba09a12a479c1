import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as UrlParams from "@effect/platform/UrlParams"
import { Clock, Effect, Option, Redacted } from "effect"
import type { CallbacksSettings } from "./CallbacksConfig.js"
import { deliveryDetail } from "./DeliveryStatus.js"
import {
  accepted,
  badRequest,
  type Count,
  FORM,
  forbidden,
  formParams,
  fresh,
  jsonParams,
  type Kind,
  mediaType,
  param,
  phoneOf
} from "./Replies.js"
import type { SmsCallbacks } from "./SmsCallbacks.js"
import { verifyVonageJwt } from "./VonageJwt.js"
import { verifyVonage } from "./VonageSignature.js"

const parseObject = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** Vonage's message ids: letters and digits (16 or so); bounded so nothing odd reaches the database. */
const MESSAGE_ID = /^[A-Za-z0-9-]{1,64}$/

/**
 * `GET|POST /hooks/sms/vonage/status` (delivery receipts) and `GET|POST /hooks/sms/vonage/inbound` (inbound
 * SMS) of Vonage's SMS API, as the account's "HTTP method" setting sends them: GET with a query, POST with a
 * form, or POST-JSON. Signed webhooks: every parameter, `timestamp` among them, is covered by `sig`
 * (VONAGE_SIGNATURE_METHOD with VONAGE_SIGNATURE_SECRET); a callback signed longer ago than the replay window
 * is refused like a forged one. The Messages API's signed webhooks (a bearer JWT) are taken on the same routes.
 */
export const vonageHandlers = (callbacks: SmsCallbacks, settings: CallbacksSettings, count: Count) => {
  const verified = (kind: Kind) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const type = mediaType(request)
      if (request.method === "POST" && request.headers.authorization?.startsWith("Bearer "))
        return yield* messagesApi(kind, request)
      const params =
        request.method === "GET"
          ? Option.some(UrlParams.fromInput(new URL(request.url, "http://x").searchParams))
          : type === FORM
            ? yield* formParams(request)
            : type === "application/json"
              ? yield* jsonParams(request)
              : undefined
      if (params === undefined || Option.isNone(params)) {
        yield* count("vonage", kind, "malformed")
        return { refusal: badRequest(`expected a query, ${FORM} or a JSON object of values`) }
      }
      const secret = settings.vonageSecret
      if (
        Option.isNone(secret) ||
        !verifyVonage(Redacted.value(secret.value), settings.vonageMethod, params.value)
      ) {
        yield* count("vonage", kind, "refused_signature")
        return { refusal: forbidden("the sig parameter does not verify") }
      }
      const timestamp = Number(param(params.value, "timestamp") ?? Number.NaN) * 1000
      if (!fresh(yield* Clock.currentTimeMillis, timestamp)) {
        yield* count("vonage", kind, "refused_replay")
        return { refusal: forbidden("the callback's timestamp is outside the replay window") }
      }
      return { params: params.value }
    })

  /**
   * The Messages API's webhooks (JSON, `Authorization: Bearer` with an HS256 token over the body's hash), read
   * into the SMS API's parameter names so one rule applies to both: `message_uuid` is the message id, `from`
   * the sender, `error.title`/`error.detail` the error.
   */
  const messagesApi = (kind: Kind, request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      const body = yield* Effect.option(request.text)
      const secret = settings.vonageSecret
      const claims =
        Option.isNone(secret) || Option.isNone(body)
          ? undefined
          : verifyVonageJwt(Redacted.value(secret.value), request.headers.authorization, body.value)
      if (claims === undefined || Option.isNone(body)) {
        yield* count("vonage", kind, "refused_signature")
        return { refusal: forbidden("the bearer token does not verify") }
      }
      if (!fresh(yield* Clock.currentTimeMillis, claims.iat * 1000)) {
        yield* count("vonage", kind, "refused_replay")
        return { refusal: forbidden("the token was issued outside the replay window") }
      }
      const json = parseObject(body.value)
      if (json === undefined) {
        yield* count("vonage", kind, "malformed")
        return { refusal: badRequest("expected a JSON object") }
      }
      const error =
        typeof json.error === "object" && json.error !== null ? (json.error as Record<string, unknown>) : {}
      const pairs: Array<[string, unknown]> = [
        ["messageId", json.message_uuid],
        ["status", json.status],
        ["err-code", error.title ?? error.type],
        ["err-text", error.detail],
        ["msisdn", json.from],
        ["text", json.text]
      ]
      return {
        params: pairs.flatMap(
          ([name, value]): Array<[string, string]> =>
            typeof value === "string" || typeof value === "number" ? [[name, String(value)]] : []
        )
      }
    })

  const status = Effect.gen(function* () {
    const checked = yield* verified("status")
    if ("refusal" in checked) return checked.refusal
    const id = param(checked.params, "messageId") ?? ""
    const word = param(checked.params, "status") ?? ""
    if (!MESSAGE_ID.test(id) || !/^[a-z_]{1,30}$/.test(word)) {
      yield* count("vonage", "status", "malformed")
      return badRequest("messageId and status are required")
    }
    // err-code 0 is Vonage's "no error": not worth showing anyone.
    const code = param(checked.params, "err-code")
    const outcome = yield* callbacks.status({
      provider: "vonage",
      callbackId: `${id}:${word}`,
      providerMessageId: id,
      word,
      detail: deliveryDetail(code === "0" ? undefined : code, param(checked.params, "err-text"))
    })
    yield* count("vonage", "status", outcome)
    return accepted
  })

  const inbound = Effect.gen(function* () {
    const checked = yield* verified("inbound")
    if ("refusal" in checked) return checked.refusal
    const id = param(checked.params, "messageId") ?? ""
    if (!MESSAGE_ID.test(id)) {
      yield* count("vonage", "inbound", "malformed")
      return badRequest("messageId is required")
    }
    const from = phoneOf(param(checked.params, "msisdn"))
    if (from === undefined) {
      yield* count("vonage", "inbound", "ignored")
      return accepted
    }
    const { reply, result } = yield* callbacks.inbound({
      provider: "vonage",
      callbackId: id,
      from,
      text: param(checked.params, "text") ?? ""
    })
    yield* count("vonage", "inbound", result)
    if (reply !== null) yield* callbacks.replyInBackground(from, reply)
    return accepted
  })

  return { status, inbound } as const
}
