import { Config, type Duration, Effect, Layer, Redacted } from "effect"
import { failureOf } from "../Email/HttpEmail.js"
import { basicAuth, errorOf, post } from "./HttpSms.js"
import { Sms, SmsError } from "./Sms.js"
import { required, type SharedSettings } from "./SmsConfig.js"
import { isGsm7, prepare } from "./SmsText.js"

export interface VonageOptions {
  readonly apiKey: string
  readonly apiSecret: Redacted.Redacted
  /** A number (E.164, with or without its "+") or an alphanumeric sender id where the country allows one. */
  readonly from: string
  /** https://rest.nexmo.com; a test points it at its loopback peer. */
  readonly apiUrl: string
  readonly timeout: Duration.DurationInput
}

/*
 * The SMS API answers 200 and puts each part's outcome in `messages[].status`
 * (https://developer.vonage.com/en/api-errors/sms). These refuse the message itself: a retry or another
 * provider would meet the same refusal. Every other non-zero status names the account or the platform
 * (throttled, bad credentials, no credit, suspended, an unauthorised sender, an internal error): transient.
 */
const MESSAGE_REFUSALS: Record<string, string> = {
  "2": "missing parameters",
  "3": "invalid parameters",
  "6": "invalid message (an unrecognised number prefix)",
  "7": "number barred",
  "12": "message too long",
  "22": "invalid network code",
  "33": "number de-activated"
}

interface Part {
  readonly status?: unknown
  readonly "message-id"?: unknown
  readonly "error-text"?: unknown
}

/**
 * Vonage SMS API: `POST /sms/json`, a form body (`from`, `to` without its "+", `text`, `type`, `client-ref`),
 * basic auth with the API key and secret. `type` is `unicode` when the text is not all GSM 7-bit, or the
 * handset shows question marks. The receipt is the first part's `message-id`, as its delivery receipts say.
 */
export const make = (options: VonageOptions) =>
  Sms.of({
    provider: "vonage",
    send: (message) =>
      Effect.gen(function* () {
        const { to, text, id } = yield* prepare("vonage", message)
        const answer = yield* post(
          "vonage",
          {
            url: new URL("/sms/json", options.apiUrl).href,
            headers: {
              accept: "application/json",
              authorization: basicAuth(options.apiKey, Redacted.value(options.apiSecret))
            },
            form: {
              from: options.from.replace(/^\+/, ""),
              to: to.slice(1),
              text,
              type: isGsm7(text) ? "text" : "unicode",
              // Vonage's client reference is at most 100 characters; a message id is a UUID.
              ...(id === undefined ? {} : { "client-ref": id.slice(0, 100) })
            }
          },
          options.timeout
        )
        if (answer.status < 200 || answer.status >= 300) {
          return yield* errorOf("vonage", answer, failureOf(answer.status))
        }
        const parts = (answer.json as { messages?: ReadonlyArray<Part> } | null)?.messages ?? []
        const refused = parts.find((part) => String(part.status) !== "0")
        if (refused !== undefined) {
          const status = String(refused.status)
          const words = String(refused["error-text"] ?? MESSAGE_REFUSALS[status] ?? "")
          return yield* new SmsError({
            provider: "vonage",
            failure: Object.hasOwn(MESSAGE_REFUSALS, status) ? "permanent" : "transient",
            message: `vonage status ${status}: ${words.slice(0, 300)}`
          })
        }
        const first = parts[0]?.["message-id"]
        if (typeof first === "string" && first.length > 0)
          return { provider: "vonage", providerMessageId: first }
        // A 200 without parts: nothing says it was sent or refused. Transient: the whole list is tried again.
        return yield* errorOf("vonage", answer, "transient", `no message status: ${answer.text}`)
      })
  })

export const layer = (options: VonageOptions) => Layer.succeed(Sms, make(options))

export const config = Config.all({
  apiKey: Config.option(Config.string("VONAGE_API_KEY")),
  apiSecret: Config.option(Config.redacted("VONAGE_API_SECRET")),
  from: Config.option(Config.string("VONAGE_FROM")),
  apiUrl: Config.url("VONAGE_API_URL").pipe(
    Config.map((url) => url.href),
    Config.withDefault("https://rest.nexmo.com")
  )
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.gen(function* () {
    const own = yield* config
    return make({
      apiKey: yield* required("vonage", own.apiKey, "VONAGE_API_KEY"),
      apiSecret: yield* required("vonage", own.apiSecret, "VONAGE_API_SECRET"),
      from: yield* required("vonage", own.from, "VONAGE_FROM"),
      apiUrl: own.apiUrl,
      timeout: shared.timeout
    })
  })

export const layerConfig = (shared: SharedSettings) => Layer.effect(Sms, fromConfig(shared))
