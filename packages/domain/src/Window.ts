import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { HttpUrl, Timestamp } from "./Fields.js"
import { EventId, OrganizationId, WindowId } from "./Ids.js"

export const WindowType = Schema.Literal("PRE", "LIVE", "POST")
export type WindowType = typeof WindowType.Type

/**
 * Where a window sends taps: to its URL, or to the registration page Tapline hosts (the URL is then where the
 * page sends the attendee once registered).
 */
export const WindowDestination = Schema.Literal("URL", "REGISTRATION_PAGE")
export type WindowDestination = typeof WindowDestination.Type

/** A slice of an event's timeline, `[startsAt, endsAt)`; the windows of one event never overlap. */
export class Window extends Model.Class<Window>("Window")({
  id: Model.Generated(WindowId),
  organizationId: Model.FieldExcept("jsonCreate", "jsonUpdate")(OrganizationId),
  eventId: Model.FieldExcept("jsonUpdate")(EventId),
  type: WindowType,
  title: Schema.String.pipe(Schema.maxLength(200)),
  url: HttpUrl,
  destination: WindowDestination.pipe(
    Schema.propertySignature,
    Schema.withConstructorDefault(() => "URL" as const)
  ),
  startsAt: Timestamp,
  endsAt: Timestamp,
  createdAt: Model.DateTimeInsertFromDate,
  updatedAt: Model.DateTimeUpdateFromDate
}) {}
