import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { hasControlCharacters } from "./ControlCharacters.js"
import { DeletedAt, Email, HttpUrl, Slug } from "./Fields.js"
import { OrganizationId } from "./Ids.js"

export const Branding = Schema.Struct({
  logoUrl: Schema.optional(HttpUrl),
  primaryColor: Schema.optional(Schema.String.pipe(Schema.pattern(/^#[0-9a-fA-F]{6}$/))),
  accentColor: Schema.optional(Schema.String.pipe(Schema.pattern(/^#[0-9a-fA-F]{6}$/)))
})
export type Branding = typeof Branding.Type

/**
 * The organisation's answer to an SMS "HELP" (carriers require one): who is texting and how to stop, in at most
 * 300 characters (two SMS segments), one line of plain text.
 */
export const SmsHelpText = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(300),
  Schema.filter((text) => !hasControlCharacters(text) || "no control characters or line breaks")
)

export class Organization extends Model.Class<Organization>("Organization")({
  id: Model.Generated(OrganizationId),
  slug: Slug,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  websiteUrl: Model.FieldOption(HttpUrl),
  contactEmail: Model.FieldOption(Email),
  branding: Branding,
  smsHelpText: Model.FieldOption(SmsHelpText),
  createdAt: Model.DateTimeInsertFromDate,
  updatedAt: Model.DateTimeUpdateFromDate,
  deletedAt: DeletedAt
}) {}
