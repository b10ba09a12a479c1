import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { BandUid, DeletedAt, Email, OptionalTimestamp } from "./Fields.js"
import { BandId, EventId, OrganizationId } from "./Ids.js"

const RegistrantField = <A, I>(schema: Schema.Schema<A, I>) =>
  Model.Field({
    select: Schema.optionalWith(schema, { as: "Option", nullable: true }),
    json: Schema.optionalWith(schema, { as: "Option" }),
    jsonCreate: Schema.optionalWith(schema, { as: "Option", nullable: true }),
    jsonUpdate: Schema.optionalWith(schema, { as: "Option", nullable: true })
  })

export class Band extends Model.Class<Band>("Band")({
  id: Model.Generated(BandId),
  organizationId: Model.FieldExcept("jsonCreate", "jsonUpdate")(OrganizationId),
  eventId: EventId,
  bandUid: BandUid,
  /**
   * The band's registrant's name and email (issue 33): stored in `registrants`, read through a join, so not
   * columns a band's insert or update writes; a row read without the join has none.
   */
  registrantName: RegistrantField(Schema.String.pipe(Schema.maxLength(200))),
  registrantEmail: RegistrantField(Email),
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
