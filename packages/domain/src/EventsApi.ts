import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Event, EventStatus, ScheduleMode } from "./Event.js"
import { HttpUrl, Instant, Latitude, LocalTime, Longitude, TimeZone } from "./Fields.js"
import { CampaignId, WindowId } from "./Ids.js"
import { Page, PageParams } from "./Pagination.js"
import { Deleted, eventId, NoContent, organizationId, PurgeParams } from "./Params.js"

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
const Text = (max: number) => Schema.String.pipe(Schema.maxLength(max))
const Attendees = Schema.Int.pipe(Schema.nonNegative(), Schema.lessThanOrEqualTo(10_000_000))

export const CreateEvent = Schema.Struct({
  name: Name,
  campaignId: Schema.optional(CampaignId),
  venue: Schema.optional(Text(200)),
  address: Schema.optional(Text(500)),
  latitude: Schema.optional(Latitude),
  longitude: Schema.optional(Longitude),
  timezone: Schema.optionalWith(TimeZone, { default: () => "UTC" as TimeZone }),
  fallbackUrl: Schema.optional(HttpUrl),
  estimatedAttendees: Schema.optional(Attendees),
  assignOnFlag: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  autoLifecycle: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Both or neither. */
  quietHoursStart: Schema.optional(LocalTime),
  quietHoursEnd: Schema.optional(LocalTime),
  startsAt: Schema.optional(Instant),
  endsAt: Schema.optional(Instant)
}).annotations({
  examples: [
    {
      name: "Lisbon, night one",
      timezone: "Europe/Lisbon" as TimeZone,
      fallbackUrl: "https://acme.example/lisbon" as HttpUrl,
      assignOnFlag: false,
      autoLifecycle: false
    }
  ]
})

/** Absent fields stay as they are; `null` clears an optional one. Status changes go through `/status`. */
export const UpdateEvent = Schema.Struct({
  name: Schema.optional(Name),
  campaignId: Schema.optional(Schema.NullOr(CampaignId)),
  venue: Schema.optional(Schema.NullOr(Text(200))),
  address: Schema.optional(Schema.NullOr(Text(500))),
  latitude: Schema.optional(Schema.NullOr(Latitude)),
  longitude: Schema.optional(Schema.NullOr(Longitude)),
  timezone: Schema.optional(TimeZone),
  scheduleMode: Schema.optional(ScheduleMode),
  manualWindowId: Schema.optional(Schema.NullOr(WindowId)),
  fallbackUrl: Schema.optional(Schema.NullOr(HttpUrl)),
  estimatedAttendees: Schema.optional(Schema.NullOr(Attendees)),
  assignOnFlag: Schema.optional(Schema.Boolean),
  autoLifecycle: Schema.optional(Schema.Boolean),
  /** Both set or both null once the change is applied; `null` on both clears them. */
  quietHoursStart: Schema.optional(Schema.NullOr(LocalTime)),
  quietHoursEnd: Schema.optional(Schema.NullOr(LocalTime)),
  startsAt: Schema.optional(Schema.NullOr(Instant)),
  endsAt: Schema.optional(Schema.NullOr(Instant))
}).annotations({
  examples: [
    { venue: "Coliseu", estimatedAttendees: 4000, fallbackUrl: "https://acme.example/lisbon" } as never
  ]
})

export const EventFilters = Schema.Struct({
  ...PageParams.fields,
  status: Schema.optional(EventStatus),
  campaignId: Schema.optional(CampaignId),
  /** Case-insensitive match on name or venue. */
  q: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  deleted: Deleted
})

export const DuplicateEvent = Schema.Struct({
  name: Schema.optional(Name),
  /** Moves the copy's dates and windows by this many seconds (e.g. a week: 604800). */
  shiftSeconds: Schema.optionalWith(Schema.Int.pipe(Schema.between(-315_360_000, 315_360_000)), {
    default: () => 0
  })
}).annotations({ examples: [{ name: "Porto, night one", shiftSeconds: 604800 } as never] })

export const ChangeEventStatus = Schema.Struct({ status: EventStatus }).annotations({
  examples: [{ status: "ACTIVE" } as never]
})

export class EventsApi extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/events`
      .setUrlParams(EventFilters)
      .addSuccess(Page(Event.json))
  )
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/events`
      .setPayload(CreateEvent)
      .addSuccess(Event.json, { status: 201 })
      .annotate(OpenApi.Description, "A new event starts as DRAFT in scheduled mode.")
  )
  .add(
    HttpApiEndpoint.get("get")`/api/v1/organizations/${organizationId}/events/${eventId}`.addSuccess(
      Event.json
    )
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/events/${eventId}`
      .setPayload(UpdateEvent)
      .addSuccess(Event.json)
  )
  .add(
    HttpApiEndpoint.post("changeStatus")`/api/v1/organizations/${organizationId}/events/${eventId}/status`
      .setPayload(ChangeEventStatus)
      .addSuccess(Event.json)
      .annotate(
        OpenApi.Description,
        "DRAFT → ACTIVE or CANCELLED; ACTIVE → COMPLETED or CANCELLED. Anything else answers 409."
      )
  )
  .add(
    HttpApiEndpoint.post("duplicate")`/api/v1/organizations/${organizationId}/events/${eventId}/duplicate`
      .setPayload(DuplicateEvent)
      .addSuccess(Event.json, { status: 201 })
      .annotate(
        OpenApi.Description,
        "A DRAFT copy with the same settings and windows (bands are not copied)."
      )
  )
  .add(
    HttpApiEndpoint.del("delete")`/api/v1/organizations/${organizationId}/events/${eventId}`
      .setUrlParams(PurgeParams)
      .addSuccess(NoContent)
  )
  .add(
    HttpApiEndpoint.post(
      "restore"
    )`/api/v1/organizations/${organizationId}/events/${eventId}/restore`.addSuccess(Event.json)
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Events")
  .annotate(
    OpenApi.Description,
    "Shows, with their schedule and fallbacks. Every change reaches the redirect within the request."
  ) {}
