import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as UrlParams from "@effect/platform/UrlParams"
import { Effect, Option } from "effect"
import type { MetricsShape } from "../Telemetry/Metrics.js"
import type { CallbackProvider } from "./DeliveryStatus.js"

/*
 * What every callback route shares: the refusals (a typed 4xx, never a 5xx for what the caller sent; nothing
 * about the secret or the expected signature in the body), reading the body's parameters, the replay window
 * and the counter.
 */

export type Kind = "status" | "inbound" | "subscription"

/** A callback older (or further in the future) than this is refused: it is a replay, or a clock gone wrong. */
export const MAX_AGE_MS = 5 * 60 * 1000

export const fresh = (nowMs: number, thenMs: number) =>
  Number.isFinite(thenMs) && Math.abs(nowMs - thenMs) <= MAX_AGE_MS

const refusal = (status: number, tag: string, message: string) =>
  HttpServerResponse.unsafeJson({ _tag: tag, message }, { status })

export const badRequest = (message: string) => refusal(400, "InvalidRequest", message)
export const forbidden = (message: string) => refusal(403, "Forbidden", message)
export const accepted = HttpServerResponse.empty({ status: 200 })

/** The media type without parameters, lower case ("" when absent). */
export const mediaType = (request: HttpServerRequest.HttpServerRequest) =>
  (request.headers["content-type"] ?? "").split(";", 1)[0]!.trim().toLowerCase()

export const FORM = "application/x-www-form-urlencoded"

/** A form body's parameters, in order; none when it does not read. */
export const formParams = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.option(request.urlParamsBody)

/** A JSON object of strings, numbers and booleans as parameters; none for anything else (nested, an array). */
export const jsonParams = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(Effect.option(request.json), (json) =>
    Option.flatMap(json, (value): Option.Option<UrlParams.UrlParams> => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return Option.none()
      const pairs: Array<[string, string]> = []
      for (const [name, item] of Object.entries(value)) {
        if (typeof item === "string" || typeof item === "number" || typeof item === "boolean")
          pairs.push([name, String(item)])
        else return Option.none()
      }
      return Option.some(pairs)
    })
  )

/** The first value of a parameter. */
export const param = (params: UrlParams.UrlParams, name: string): string | undefined =>
  params.find(([key]) => key === name)?.[1]

/** E.164 ("+", then 6 to 15 digits, no leading zero), as registrants' phones are stored. */
export const E164 = /^\+[1-9][0-9]{5,14}$/

/** A phone as a provider writes it ("+4477…", "4477…") in E.164; undefined when it is not a phone number. */
export const phoneOf = (text: string | undefined): string | undefined => {
  if (text === undefined) return undefined
  const phone = text.startsWith("+") ? text : `+${text}`
  return E164.test(phone) ? phone : undefined
}

export type Count = (provider: CallbackProvider, kind: Kind, outcome: string) => Effect.Effect<void>

export const counter =
  (metrics: MetricsShape): Count =>
  (provider, kind, outcome) =>
    Effect.sync(() => metrics.smsCallbacks.inc({ provider, kind, outcome }))
