import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound, TooManyRequests } from "./Errors.js"
import { Email } from "./Fields.js"
import { BandId, EventId, OrganizationId } from "./Ids.js"
import { Page, PageParams } from "./Pagination.js"
import { NoContent, organizationId } from "./Params.js"

/*
 * Journeys (issue 33): a message sent once per band when a trigger fires at an event, on a channel the
 * registrant consented to. OWNER and EDITOR define them; a VIEWER reads the definitions, not the delivery log
 * (it names bands whose registrants were written to).
 */

export const JourneyId = Schema.UUID.pipe(Schema.brand("JourneyId"))
export type JourneyId = typeof JourneyId.Type
export const journeyId = HttpApiSchema.param("journeyId", JourneyId)
export const JourneyMessageId = Schema.UUID.pipe(Schema.brand("JourneyMessageId"))
export type JourneyMessageId = typeof JourneyMessageId.Type
export const journeyMessageId = HttpApiSchema.param("messageId", JourneyMessageId)

/** What starts a journey for a band. */
export const JourneyTrigger = Schema.Union(
  /** The band's first tap at the event (the first one after the journey is enabled). */
  Schema.TaggedStruct("first_tap", {}),
  /** A tap while a window of this type is served. */
  Schema.TaggedStruct("window_tap", { windowType: Schema.Literal("PRE", "LIVE", "POST") }),
  /** This many minutes after the event's end, for every registered band of the event. */
  Schema.TaggedStruct("after_event", { minutes: Schema.Int.pipe(Schema.between(0, 43_200)) }),
  /** A registrant recorded for a band of the event (import, API, broker or page). */
  Schema.TaggedStruct("registration", {})
)
export type JourneyTrigger = typeof JourneyTrigger.Type

/**
 * How a journey's message reaches the person: an email; an SMS (the body only, at most SMS_MAX_LENGTH characters
 * once filled in); a push notification (the subject as its title, the body as its text, the page as its link).
 */
export const JourneyChannel = Schema.Literal("email", "sms", "push")
export type JourneyChannel = typeof JourneyChannel.Type

/** An SMS body's longest, rendered: ten concatenated segments, what carriers reliably reassemble. */
export const SMS_MAX_LENGTH = 1600

export const JOURNEY_VARIABLES = ["name", "event", "windowUrl", "unsubscribeUrl"] as const

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
/** One line: a subject is a header, and a line break in it would start another. */
export const JourneySubject = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(200),
  Schema.pattern(/^[^\r\n]*$/, { message: () => "one line, no line break" })
)
export const JourneyBody = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(20_000))
const Delay = Schema.Int.pipe(Schema.between(0, 43_200))

export const Journey = Schema.Struct({
  id: JourneyId,
  organizationId: OrganizationId,
  eventId: EventId,
  name: Schema.String,
  trigger: JourneyTrigger,
  delayMinutes: Schema.Number,
  channel: JourneyChannel,
  subject: Schema.String,
  body: Schema.String,
  enabled: Schema.Boolean,
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}).annotations({ identifier: "Journey" })
export type Journey = typeof Journey.Type

export const CreateJourney = Schema.Struct({
  eventId: EventId,
  name: Name,
  trigger: JourneyTrigger,
  delayMinutes: Schema.optionalWith(Delay, { default: () => 0 }),
  channel: Schema.optionalWith(JourneyChannel, { default: () => "email" as const }),
  /** `{{name}}`, `{{event}}`, `{{windowUrl}}` and `{{unsubscribeUrl}}` are filled in; nothing else is. */
  subject: JourneySubject,
  body: JourneyBody,
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true })
}).annotations({
  examples: [
    {
      eventId: "0190b5a0-0000-7000-8000-000000000001",
      name: "Welcome",
      trigger: { _tag: "first_tap" },
      delayMinutes: 0,
      channel: "email",
      subject: "Welcome to {{event}}",
      body: "Hello {{name}}, the programme is at {{windowUrl}}.\nUnsubscribe: {{unsubscribeUrl}}",
      enabled: true
    } as never
  ]
})

export const UpdateJourney = Schema.Struct({
  name: Schema.optional(Name),
  trigger: Schema.optional(JourneyTrigger),
  delayMinutes: Schema.optional(Delay),
  channel: Schema.optional(JourneyChannel),
  subject: Schema.optional(JourneySubject),
  body: Schema.optional(JourneyBody),
  enabled: Schema.optional(Schema.Boolean)
})

export const JourneyFilters = Schema.Struct({ ...PageParams.fields, eventId: Schema.optional(EventId) })

export const JourneyMessageStatus = Schema.Literal("queued", "sending", "sent", "dead", "skipped")

/** One line of the delivery log. */
export const JourneyMessage = Schema.Struct({
  id: JourneyMessageId,
  journeyId: JourneyId,
  bandId: BandId,
  status: JourneyMessageStatus,
  /**
   * Why it was skipped: no_registrant, no_address (email), no_phone (SMS), no_push_subscription (push),
   * no_consent (to this channel), channel_off (no provider configured for it), journey_disabled.
   */
  reason: Schema.NullOr(Schema.String),
  dueAt: Schema.Date,
  attempts: Schema.Number,
  lastError: Schema.NullOr(Schema.String),
  provider: Schema.NullOr(Schema.String),
  /** The provider's own id for the message (an SMS's), which its delivery-status callbacks name. */
  providerMessageId: Schema.NullOr(Schema.String),
  sentAt: Schema.NullOr(Schema.Date),
  createdAt: Schema.Date
}).annotations({ identifier: "JourneyMessage" })
export type JourneyMessage = typeof JourneyMessage.Type

export const JourneyMessageFilters = Schema.Struct({
  ...PageParams.fields,
  status: Schema.optional(JourneyMessageStatus)
})

/** A message as it would be sent, with sample values (or the given ones). */
export const JourneyPreview = Schema.Struct({
  subject: Schema.String,
  text: Schema.String,
  html: Schema.String
})

export const PreviewJourney = Schema.Struct({
  name: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  windowUrl: Schema.optional(Schema.String.pipe(Schema.maxLength(2000)))
})

export const TestJourney = Schema.Struct({ to: Email })

/** One channel's state: configured when at least one provider is (their names, in failover order). */
export const JourneyChannelState = Schema.Struct({
  channel: JourneyChannel,
  configured: Schema.Boolean,
  providers: Schema.Array(Schema.String)
}).annotations({ identifier: "JourneyChannelState" })
export type JourneyChannelState = typeof JourneyChannelState.Type

export const JourneyChannels = Schema.Struct({ channels: Schema.Array(JourneyChannelState) })

export class JourneysApi extends HttpApiGroup.make("journeys")
  .add(
    HttpApiEndpoint.get("channels")`/api/v1/organizations/${organizationId}/journeys/channels`.addSuccess(
      JourneyChannels
    )
  )
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/journeys`
      .setUrlParams(JourneyFilters)
      .addSuccess(Page(Journey))
  )
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/journeys`
      .setPayload(CreateJourney)
      .addSuccess(Journey, { status: 201 })
  )
  .add(
    HttpApiEndpoint.get("get")`/api/v1/organizations/${organizationId}/journeys/${journeyId}`.addSuccess(
      Journey
    )
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/journeys/${journeyId}`
      .setPayload(UpdateJourney)
      .addSuccess(Journey)
  )
  .add(
    HttpApiEndpoint.del("delete")`/api/v1/organizations/${organizationId}/journeys/${journeyId}`.addSuccess(
      NoContent
    )
  )
  .add(
    HttpApiEndpoint.post("preview")`/api/v1/organizations/${organizationId}/journeys/${journeyId}/preview`
      .setPayload(PreviewJourney)
      .addSuccess(JourneyPreview)
  )
  .add(
    HttpApiEndpoint.post("test")`/api/v1/organizations/${organizationId}/journeys/${journeyId}/test`
      .setPayload(TestJourney)
      .addSuccess(NoContent, { status: 202 })
      .addError(TooManyRequests)
  )
  .add(
    HttpApiEndpoint.get("messages")`/api/v1/organizations/${organizationId}/journeys/${journeyId}/messages`
      .setUrlParams(JourneyMessageFilters)
      .addSuccess(Page(JourneyMessage))
  )
  .add(
    HttpApiEndpoint.post(
      "redrive"
    )`/api/v1/organizations/${organizationId}/journeys/${journeyId}/messages/${journeyMessageId}/redrive`.addSuccess(
      JourneyMessage
    )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(InvalidRequest)
  .addError(Conflict)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Journeys")
  .annotate(
    OpenApi.Description,
    "Messages sent once per band when a trigger fires at an event (first tap, a tap in a window type, after " +
      "the event, a registration), after an optional delay, outside the event's quiet hours, to registrants " +
      "who consented to the channel. Each email carries a one-click List-Unsubscribe (RFC 8058)."
  ) {}
