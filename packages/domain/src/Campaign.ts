import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { CalendarDate, DeletedAt } from "./Fields.js"
import { CampaignId, OrganizationId } from "./Ids.js"

export const CampaignStatus = Schema.Literal("DRAFT", "ACTIVE", "COMPLETED")
export type CampaignStatus = typeof CampaignStatus.Type

export class Campaign extends Model.Class<Campaign>("Campaign")({
  id: Model.Generated(CampaignId),
  organizationId: Model.FieldExcept("jsonCreate", "jsonUpdate")(OrganizationId),
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  status: CampaignStatus,
  startsOn: Model.FieldOption(CalendarDate),
  endsOn: Model.FieldOption(CalendarDate),
  createdAt: Model.DateTimeInsertFromDate,
  updatedAt: Model.DateTimeUpdateFromDate,
  deletedAt: DeletedAt
}) {}
