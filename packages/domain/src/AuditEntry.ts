import { Schema } from "effect"
import { AuditEntryId, OrganizationId } from "./Ids.js"

/** Who did it: a signed-in user, an API key, or Tapline itself (seeding, jobs). */
export const ActorType = Schema.Literal("user", "api_key", "system")
export type ActorType = typeof ActorType.Type

export class AuditEntry extends Schema.Class<AuditEntry>("AuditEntry")({
  id: AuditEntryId,
  occurredAt: Schema.DateTimeUtc,
  actorType: ActorType,
  actorId: Schema.NullOr(Schema.String),
  /**
   * Who that is, as the log shows it: the user's name (their email if they gave none), the API key's name,
   * "Tapline" for the system; null when the user or key no longer exists.
   */
  actorName: Schema.NullOr(Schema.String),
  organizationId: Schema.NullOr(OrganizationId),
  action: Schema.String,
  resourceType: Schema.String,
  resourceId: Schema.NullOr(Schema.String),
  oldValues: Schema.NullOr(Schema.Unknown),
  newValues: Schema.NullOr(Schema.Unknown),
  ip: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String),
  requestId: Schema.NullOr(Schema.String),
  traceId: Schema.NullOr(Schema.String)
}) {}
