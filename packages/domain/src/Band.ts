import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { BandUid, DeletedAt, Email, OptionalTimestamp } from "./Fields.js"
import { BandId, EventId, OrganizationId } from "./Ids.js"

export class Band extends Model.Class<Band>("Band")({
  id: Model.Generated(BandId),
  organizationId: Model.FieldExcept("jsonCreate", "jsonUpdate")(OrganizationId),
  eventId: EventId,
  bandUid: BandUid,
  registrantName: Model.FieldOption(Schema.String.pipe(Schema.maxLength(200))),
  registrantEmail: Model.FieldOption(Email),
  autoAssigned: Model.FieldExcept("jsonCreate", "jsonUpdate")(Schema.Boolean),
  autoAssignDistanceMiles: Model.FieldOption(Schema.Number.pipe(Schema.nonNegative())),
  flagged: Schema.Boolean,
  flagReason: Model.FieldOption(Schema.String.pipe(Schema.maxLength(500))),
  firstTapAt: Model.Field({ select: OptionalTimestamp.schemas.select, json: OptionalTimestamp.schemas.json }),
  lastTapAt: Model.Field({ select: OptionalTimestamp.schemas.select, json: OptionalTimestamp.schemas.json }),
  tapCount: Model.Field({ select: Schema.NumberFromString, json: Schema.Number }),
  createdAt: Model.DateTimeInsertFromDate,
  updatedAt: Model.DateTimeUpdateFromDate,
  deletedAt: DeletedAt
}) {}
