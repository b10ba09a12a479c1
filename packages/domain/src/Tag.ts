import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { OrganizationId, TagId } from "./Ids.js"

export class Tag extends Model.Class<Tag>("Tag")({
  id: Model.Generated(TagId),
  organizationId: Model.FieldExcept("jsonCreate", "jsonUpdate")(OrganizationId),
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  color: Model.FieldOption(Schema.String.pipe(Schema.pattern(/^#[0-9a-fA-F]{6}$/))),
  createdAt: Model.DateTimeInsertFromDate
}) {}
