import { Config, type Duration, Effect, Layer, Option, Redacted } from "effect"
import { failureOf } from "../Email/HttpEmail.js"
import { basicAuth, errorOf, post } from "./HttpSms.js"
import { Sms } from "./Sms.js"
import { required, type SharedSettings } from "./SmsConfig.js"
import { prepare } from "./SmsText.js"

export interface TwilioOptions {
  readonly accountSid: string
  readonly authToken: Redacted.Redacted
  /** A Twilio number in E.164, or a Messaging Service SID (`MG…`), which then picks the number. */
  readonly from: string
  /** https://api.twilio.com; a test points it at its loopback peer. */
  readonly apiUrl: string
  /** Where Twilio posts the message's status changes (the `/hooks/sms/twilio/status` route); none: no callbacks. */
  readonly statusCallback: Option.Option<string>
  readonly timeout: Duration.DurationInput
}

/*
 * Twilio's error codes (https://www.twilio.com/docs/api/errors) on a 400. Most name the message (the number is
 * invalid, not a mobile, unsubscribed by STOP, the text too long): permanent, like any other 4xx. These name the
 * account instead (a sender it does not own or cannot use, a country not enabled, a full queue): another
 * provider, or a retry after the operator's fix, can still send the message.
 */
const ACCOUNT_CODES = new Set([
  14107, // the account's send rate exceeded
  20429, // too many requests
  21212, // invalid From number
  21408, // permission to send to this region not enabled
  21606, // the From number is not SMS-capable, or not the account's
  21611, // the From number's queue is full
  21659 // the From number is not a Twilio number
])

/** Twilio's error body: `{ code, message, more_info, status }`. */
const errorCode = (json: unknown): number | undefined => {
  const code = (json as { code?: unknown } | null)?.code
  return typeof code === "number" ? code : undefined
}

/**
 * Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, a form body
 * (`To`, `From` or `MessagingServiceSid`, `Body`, `StatusCallback`), basic auth with the account SID and auth
 * token. A 201 carries the message's `sid`, which the status callbacks name.
 */
export const make = (options: TwilioOptions) =>
  Sms.of({
    provider: "twilio",
    send: (message) =>
      Effect.gen(function* () {
        const { to, text } = yield* prepare("twilio", message)
        const answer = yield* post(
          "twilio",
          {
            url: new URL(
              `/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`,
              options.apiUrl
            ).href,
            headers: {
              accept: "application/json",
              authorization: basicAuth(options.accountSid, Redacted.value(options.authToken))
            },
            form: {
              To: to,
              ...(options.from.startsWith("MG")
                ? { MessagingServiceSid: options.from }
                : { From: options.from }),
              Body: text,
              ...Option.match(options.statusCallback, {
                onNone: () => ({}),
                onSome: (url) => ({ StatusCallback: url })
              })
            }
          },
          options.timeout
        )
        if (answer.status >= 200 && answer.status < 300) {
          const sid = (answer.json as { sid?: unknown } | null)?.sid
          if (typeof sid === "string" && sid.length > 0) return { provider: "twilio", providerMessageId: sid }
          // Accepted, so sent: failing it would send it twice. Without its id no status callback will match.
          yield* Effect.logWarning("twilio accepted an SMS without a sid").pipe(
            Effect.annotateLogs({ status: answer.status })
          )
          return { provider: "twilio", providerMessageId: "" }
        }
        const code = errorCode(answer.json)
        const failure = code !== undefined && ACCOUNT_CODES.has(code) ? "transient" : failureOf(answer.status)
        return yield* errorOf("twilio", answer, failure)
      })
  })

export const layer = (options: TwilioOptions) => Layer.succeed(Sms, make(options))

export const config = Config.all({
  accountSid: Config.option(Config.string("TWILIO_ACCOUNT_SID")),
  authToken: Config.option(Config.redacted("TWILIO_AUTH_TOKEN")),
  from: Config.option(Config.string("TWILIO_FROM")),
  apiUrl: Config.url("TWILIO_API_URL").pipe(
    Config.map((url) => url.href),
    Config.withDefault("https://api.twilio.com")
  )
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.gen(function* () {
    const own = yield* config
    return make({
      accountSid: yield* required("twilio", own.accountSid, "TWILIO_ACCOUNT_SID"),
      authToken: yield* required("twilio", own.authToken, "TWILIO_AUTH_TOKEN"),
      from: yield* required("twilio", own.from, "TWILIO_FROM"),
      apiUrl: own.apiUrl,
      statusCallback: Option.map(shared.publicUrl, (url) => new URL("/hooks/sms/twilio/status", url).href),
      timeout: shared.timeout
    })
  })

export const layerConfig = (shared: SharedSettings) => Layer.effect(Sms, fromConfig(shared))
