import * as Fs from "node:fs"
import { WebPushEndpoint } from "@tapline/domain"
import { Config, Option, Schema } from "effect"

/*
 * Notifications from the hosted page (issue 34): once registered, "Turn on notifications" registers our
 * service worker (/r/sw.js, scope /r/), subscribes with the VAPID public key, and posts the subscription to
 * /r/push/<page token> with the page's CSRF token. The page stores it as the registrant's device and records
 * the push consent it asked for (source `page`).
 */

/**
 * The VAPID public key the browser subscribes with (PUSH_VAPID_PUBLIC_KEY, unpadded base64url of the P-256
 * point). The push provider signs with its private half; without the key the page does not offer notifications.
 */
export const vapidPublicKey = Config.option(
  Config.string("PUSH_VAPID_PUBLIC_KEY").pipe(
    Config.validate({
      message: "the VAPID public key: 87 characters of base64url (an uncompressed P-256 point)",
      validation: (key) => /^[A-Za-z0-9_-]{87}$/.test(key)
    })
  )
)

/** The most a subscription post may carry: a subscription is a few hundred bytes. */
export const MAX_PUSH_BODY = 4096

const perMinute = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "a positive number of posts a minute", validation: (n) => n >= 1 }),
    Config.withDefault(fallback)
  )

/**
 * What bounds the subscription posts besides the form's limit per client address (which many addresses
 * escape): per band (one page token's registrant: a browser subscribes once, again after a key change), and
 * per organisation, so a flood from the tokens of one organisation's bands, good posts or garbage, spends that
 * organisation's minute and no other's. Counted across instances by the rate limiter's store.
 */
export const limits = Config.all({
  perBand: perMinute("REGISTRATION_PUSH_PER_BAND_PER_MINUTE", 10),
  perOrganization: perMinute("REGISTRATION_PUSH_PER_ORGANIZATION_PER_MINUTE", 600)
})

const Key = (max: number) =>
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(max), Schema.pattern(/^[A-Za-z0-9_-]+={0,2}$/))

/** What the page's script posts: its CSRF token and PushSubscription.toJSON(). */
export const PushPost = Schema.Struct({
  csrf: Schema.String.pipe(Schema.maxLength(200)),
  subscription: Schema.Struct({
    endpoint: WebPushEndpoint,
    expirationTime: Schema.optional(Schema.NullOr(Schema.Number)),
    keys: Schema.Struct({ p256dh: Key(200), auth: Key(100) })
  })
})
export type PushPost = typeof PushPost.Type

export const decodePost = (text: string): Option.Option<PushPost> => {
  try {
    return Schema.decodeUnknownOption(PushPost)(JSON.parse(text))
  } catch {
    return Option.none()
  }
}

/** The text of the push consent the page records: what its offer said. */
export const pushWording = (organizationName: string, eventName: string) =>
  `Send me notifications about ${eventName} from ${organizationName}. I can turn them off at any time.`

export const serviceWorker = Fs.readFileSync(new URL("../../assets/sw.js", import.meta.url), "utf8")
