import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { DeletedAt, Email, HttpUrl, Slug } from "./Fields.js"
import { OrganizationId } from "./Ids.js"

export const Branding = Schema.Struct({
  logoUrl: Schema.optional(HttpUrl),
  primaryColor: Schema.optional(Schema.String.pipe(Schema.pattern(/^#[0-9a-fA-F]{6}$/))),
  accentColor: Schema.optional(Schema.String.pipe(Schema.pattern(/^#[0-9a-fA-F]{6}$/)))
})
export type Branding = typeof Branding.Type

export class Organization extends Model.Class<Organization>("Organization")({
  id: Model.Generated(OrganizationId),
  slug: Slug,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  websiteUrl: Model.FieldOption(HttpUrl),
  contactEmail: Model.FieldOption(Email),
  branding: Branding,
  createdAt: Model.DateTimeInsertFromDate,
  updatedAt: Model.DateTimeUpdateFromDate,
  deletedAt: DeletedAt
}) {}
