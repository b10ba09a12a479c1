import { Effect } from "effect"
import { Email, type EmailFailure } from "../Email/Email.js"
import type { Rendered } from "./Templates.js"

/**
 * A journey's channel: how one rendered message reaches one person. Email is the first; SMS and push join as
 * one file each with the same shape. `failure` says whether a retry may succeed.
 */
export interface ChannelShape {
  readonly send: (message: {
    readonly id: string
    readonly to: string
    readonly content: Rendered
    readonly unsubscribeUrl: string
  }) => Effect.Effect<
    { readonly provider: string },
    { readonly failure: EmailFailure; readonly message: string }
  >
}

/** Email through the `Email` layer, with the one-click List-Unsubscribe of RFC 8058. */
export const email = Effect.map(
  Email,
  (email): ChannelShape => ({
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
          Effect.as({ provider: email.provider }),
          Effect.mapError((error) => ({ failure: error.failure, message: error.message }))
        )
  })
)
