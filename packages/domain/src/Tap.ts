import { Schema } from "effect"
import { BandUid, HttpUrl } from "./Fields.js"
import { BandId, EventId, OrganizationId, TapId, WindowId } from "./Ids.js"
import { WindowType } from "./Window.js"

/** Which rule of the redirect chain chose the destination (DESIGN.md §3). */
export const RedirectKind = Schema.Literal("WINDOW", "FALLBACK", "ORG", "DEFAULT")
export type RedirectKind = typeof RedirectKind.Type

export const Utm = Schema.Struct({
  source: Schema.optional(Schema.String),
  medium: Schema.optional(Schema.String),
  campaign: Schema.optional(Schema.String),
  term: Schema.optional(Schema.String),
  content: Schema.optional(Schema.String)
})
export type Utm = typeof Utm.Type

/** One served redirect, as the hot path records it and the tap writer stores it. */
export class Tap extends Schema.Class<Tap>("Tap")({
  id: TapId,
  organizationId: OrganizationId,
  eventId: Schema.NullOr(EventId),
  bandId: Schema.NullOr(BandId),
  bandUid: BandUid,
  windowId: Schema.NullOr(WindowId),
  mode: Schema.NullOr(WindowType),
  redirectKind: RedirectKind,
  destinationUrl: HttpUrl,
  tappedAt: Schema.DateTimeUtc,
  userAgent: Schema.NullOr(Schema.String),
  clientIp: Schema.NullOr(Schema.String),
  utm: Utm,
  isBot: Schema.Boolean,
  isDuplicate: Schema.Boolean
}) {}
