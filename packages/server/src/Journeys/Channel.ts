import { SMS_MAX_LENGTH } from "@tapline/domain"
import { Effect, Option } from "effect"
import { Email, type EmailFailure } from "../Email/Email.js"
import { Push, type PushFailure, type PushSubscription } from "../Push/Push.js"
import { Sms } from "../Sms/Sms.js"
import type { Rendered } from "./Templates.js"

/** Why a channel's send failed: `gone` (push only) means the device is no more. */
export interface ChannelError {
  readonly failure: EmailFailure | PushFailure
  readonly message: string
}

/**
 * A journey's channel: how one rendered message reaches one person. One shape for email, SMS and push;
 * `failure` says whether a retry may succeed. `provider` is "" where no provider is configured for it (the
 * sender skips such messages as `channel_off` instead of failing them).
 */
export interface ChannelShape<To> {
  readonly provider: string
  readonly send: (message: {
    readonly id: string
    readonly to: To
    readonly content: Rendered
    readonly unsubscribeUrl: string
    /** The page the message is about: a push notification opens it. */
    readonly url: string
  }) => Effect.Effect<{ readonly provider: string; readonly providerMessageId: string | null }, ChannelError>
}

/** Email through the `Email` layer, with the one-click List-Unsubscribe of RFC 8058. */
export const email = Effect.map(
  Email,
  (email): ChannelShape<string> => ({
    provider: email.provider,
    send: ({ content, id, to, unsubscribeUrl }) =>
      email
        .send({
          id,
          to,
          subject: content.subject,
          text: content.text,
          html: content.html,
          headers: {
            "List-Unsubscribe": `<${unsubscribeUrl}>`,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
          }
        })
        .pipe(
          Effect.as({ provider: email.provider, providerMessageId: null }),
          Effect.mapError((error) => ({ failure: error.failure, message: error.message }))
        )
  })
)

/** No provider: every send would fail the same way, so the sender never calls it (see `provider`). */
const off = <To>(): ChannelShape<To> => ({
  provider: "",
  send: () =>
    Effect.fail<ChannelError>({ failure: "permanent", message: "no provider is configured for this channel" })
})

/**
 * SMS through the `Sms` port: the body's text only (a subject is not sent). A body longer than SMS_MAX_LENGTH
 * once filled in (a long name, a long page address) is refused here, permanently: the journey's save checked
 * it with sample values, a provider would split it beyond what phones reassemble. The receipt's id is kept:
 * the provider's delivery-status callbacks name it. Optional: a runtime without SMS providers has none.
 */
export const sms = Effect.map(
  Effect.serviceOption(Sms),
  Option.match({
    onNone: () => off<string>(),
    onSome: (sms): ChannelShape<string> => ({
      provider: sms.provider,
      send: ({ content, id, to }) =>
        content.text.length > SMS_MAX_LENGTH
          ? Effect.fail<ChannelError>({
              failure: "permanent",
              message: `the SMS is ${content.text.length} characters once filled in; at most ${SMS_MAX_LENGTH}`
            })
          : sms.send({ id, to, text: content.text }).pipe(
              Effect.map((receipt) => ({
                provider: receipt.provider,
                providerMessageId: receipt.providerMessageId
              })),
              Effect.mapError((error) => ({ failure: error.failure, message: error.message }))
            )
    })
  })
)

/**
 * Push through the `Push` port, to one device: the subject is the title, the body the text, the page the link.
 * The id is the message's on every device and every retry (APNs' apns-id names a notification, not a device).
 */
export const push = Effect.map(
  Effect.serviceOption(Push),
  Option.match({
    onNone: () => off<PushSubscription>(),
    onSome: (push): ChannelShape<PushSubscription> => ({
      provider: push.provider,
      send: ({ content, id, to, url }) =>
        push
          .send({
            id,
            subscription: to,
            title: content.subject,
            body: content.text,
            ...(url === "" ? {} : { url })
          })
          .pipe(
            Effect.map((receipt) => ({
              provider: receipt.provider,
              providerMessageId: receipt.providerMessageId ?? null
            })),
            Effect.mapError((error) => ({ failure: error.failure, message: error.message }))
          )
    })
  })
)
