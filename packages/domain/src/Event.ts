import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { DeletedAt, HttpUrl, Latitude, LocalTime, Longitude, OptionalTimestamp, TimeZone } from "./Fields.js"
import { CampaignId, EventId, OrganizationId, WindowId } from "./Ids.js"

export const EventStatus = Schema.Literal("DRAFT", "ACTIVE", "COMPLETED", "CANCELLED")
export type EventStatus = typeof EventStatus.Type

/** `scheduled`: the window containing now wins; `manual`: the admin-chosen window wins. */
export const ScheduleMode = Schema.Literal("scheduled", "manual")
export type ScheduleMode = typeof ScheduleMode.Type

export class Event extends Model.Class<Event>("Event")({
  id: Model.Generated(EventId),
  organizationId: Model.FieldExcept("jsonCreate", "jsonUpdate")(OrganizationId),
  campaignId: Model.FieldOption(CampaignId),
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  venue: Model.FieldOption(Schema.String.pipe(Schema.maxLength(200))),
  address: Model.FieldOption(Schema.String.pipe(Schema.maxLength(500))),
  latitude: Model.FieldOption(Latitude),
  longitude: Model.FieldOption(Longitude),
  timezone: TimeZone,
  status: EventStatus,
  scheduleMode: ScheduleMode,
  manualWindowId: Model.FieldOption(WindowId),
  fallbackUrl: Model.FieldOption(HttpUrl),
  estimatedAttendees: Model.FieldOption(Schema.Int.pipe(Schema.nonNegative())),
  assignOnFlag: Schema.Boolean,
  autoLifecycle: Schema.Boolean,
  /** Journeys' messages due between these local times wait for the end (an end before the start spans midnight). */
  quietHoursStart: Model.FieldOption(LocalTime),
  quietHoursEnd: Model.FieldOption(LocalTime),
  startsAt: OptionalTimestamp,
  endsAt: OptionalTimestamp,
  createdAt: Model.DateTimeInsertFromDate,
  updatedAt: Model.DateTimeUpdateFromDate,
  deletedAt: DeletedAt
}) {}
