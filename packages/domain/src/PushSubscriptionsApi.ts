import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { hasControlCharacters } from "./ControlCharacters.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { OrganizationId } from "./Ids.js"
import { NoContent, organizationId } from "./Params.js"
import { RegistrantId, registrantId } from "./RegistrantsApi.js"

/*
 * A registrant's push devices (issue 34): a Web Push subscription (the hosted page makes those) or an FCM or
 * APNs device token an organisation's app hands over. Journeys on the push channel go to each of them; a
 * provider's "gone" removes one. Personal data, as registrants are: EDITOR and OWNER.
 */

export const PushSubscriptionId = Schema.UUID.pipe(Schema.brand("PushSubscriptionId"))
export type PushSubscriptionId = typeof PushSubscriptionId.Type
export const pushSubscriptionId = HttpApiSchema.param("subscriptionId", PushSubscriptionId)

/** A Web Push key: unpadded base64url, as PushSubscription.toJSON() gives it. */
const Base64Url = (max: number) =>
  Schema.String.pipe(
    Schema.minLength(1),
    Schema.maxLength(max),
    Schema.pattern(/^[A-Za-z0-9_-]+={0,2}$/, { message: () => "base64url" })
  )

/** A push service's endpoint: https only (a subscription is an URL we will POST to). */
export const WebPushEndpoint = Schema.String.pipe(
  Schema.maxLength(2000),
  Schema.pattern(/^https:\/\/[^\s/?#]+[^\s]*$/, { message: () => "an https URL" }),
  // PostgreSQL's text refuses NUL (a 500), and no push service's URL holds a control character.
  Schema.filter((endpoint) => !hasControlCharacters(endpoint), {
    message: () => "an https URL without control characters"
  })
)

/** An FCM registration token or an APNs device token (hex): printable, no spaces. */
const DeviceToken = Schema.String.pipe(
  Schema.minLength(8),
  Schema.maxLength(4096),
  Schema.pattern(/^[A-Za-z0-9_:.-]+$/, { message: () => "a device token: letters, digits, _ : . -" })
)

export const NewPushSubscription = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("webpush"),
    endpoint: WebPushEndpoint,
    keys: Schema.Struct({ p256dh: Base64Url(200), auth: Base64Url(100) })
  }),
  Schema.Struct({ kind: Schema.Literal("fcm"), token: DeviceToken.pipe(Schema.maxLength(2000)) }),
  Schema.Struct({
    kind: Schema.Literal("apns"),
    token: Schema.String.pipe(
      Schema.pattern(/^[0-9a-fA-F]{64,200}$/, { message: () => "an APNs device token (hex)" })
    )
  })
).annotations({
  examples: [{ kind: "fcm", token: "fcm-registration-token-from-the-app" } as never]
})
export type NewPushSubscription = typeof NewPushSubscription.Type

/** A device as the API shows it: the endpoint or token, never the Web Push keys. */
export const PushSubscriptionView = Schema.Struct({
  id: PushSubscriptionId,
  organizationId: OrganizationId,
  registrantId: RegistrantId,
  kind: Schema.Literal("webpush", "fcm", "apns"),
  /** The Web Push endpoint, or the device token. */
  address: Schema.String,
  createdAt: Schema.Date,
  lastSentAt: Schema.NullOr(Schema.Date)
}).annotations({ identifier: "PushSubscription" })
export type PushSubscriptionView = typeof PushSubscriptionView.Type

export class PushSubscriptionsApi extends HttpApiGroup.make("pushSubscriptions")
  .add(
    HttpApiEndpoint.get(
      "list"
    )`/api/v1/organizations/${organizationId}/registrants/${registrantId}/push-subscriptions`.addSuccess(
      Schema.Struct({ items: Schema.Array(PushSubscriptionView) })
    )
  )
  .add(
    HttpApiEndpoint.post(
      "create"
    )`/api/v1/organizations/${organizationId}/registrants/${registrantId}/push-subscriptions`
      .setPayload(NewPushSubscription)
      .addSuccess(PushSubscriptionView, { status: 201 })
  )
  .add(
    HttpApiEndpoint.del(
      "delete"
    )`/api/v1/organizations/${organizationId}/registrants/${registrantId}/push-subscriptions/${pushSubscriptionId}`.addSuccess(
      NoContent
    )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(InvalidRequest)
  .addError(Conflict)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Push subscriptions")
  .annotate(
    OpenApi.Description,
    "A registrant's push devices: an FCM or APNs device token from an app, or a Web Push subscription (the " +
      "hosted registration page makes those). Push journeys go to each; a device the provider calls expired " +
      "or invalid is removed. Adding one again is idempotent."
  ) {}
