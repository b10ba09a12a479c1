import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Email, HttpUrl, Slug } from "./Fields.js"
import { Branding, Organization, SmsHelpText } from "./Organization.js"
import { Page, PageParams } from "./Pagination.js"
import { NoContent, organizationId } from "./Params.js"
import { UseUpload } from "./UploadsApi.js"

export const CreateOrganization = Schema.Struct({
  slug: Slug,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  websiteUrl: Schema.optional(HttpUrl),
  contactEmail: Schema.optional(Email),
  branding: Schema.optional(Branding)
}).annotations({
  examples: [{ slug: "acme" as Slug, name: "Acme Festivals", websiteUrl: "https://acme.example/" as HttpUrl }]
})

/** Absent fields stay as they are; `null` clears an optional one. */
export const UpdateOrganization = Schema.Struct({
  name: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
  websiteUrl: Schema.optional(Schema.NullOr(HttpUrl)),
  contactEmail: Schema.optional(Schema.NullOr(Email)),
  branding: Schema.optional(Branding),
  /** The answer to an SMS HELP from a phone this organisation's journeys texted last; null: the platform's. */
  smsHelpText: Schema.optional(Schema.NullOr(SmsHelpText))
}).annotations({ examples: [{ name: "Acme Live", contactEmail: "ops@acme.example" } as never] })

export const SlugAvailability = Schema.Struct({
  slug: Schema.String,
  available: Schema.Boolean,
  /** Why not: `invalid` (not a DNS label), `reserved` or `taken`. */
  reason: Schema.NullOr(Schema.Literal("invalid", "reserved", "taken"))
})

export class OrganizationsApi extends HttpApiGroup.make("organizations")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/organizations")
      .setUrlParams(PageParams)
      .addSuccess(Page(Organization.json))
      .annotate(
        OpenApi.Description,
        "The organisations the caller belongs to (every one for a platform ADMIN)."
      )
  )
  .add(
    HttpApiEndpoint.post("create", "/api/v1/organizations")
      .setPayload(CreateOrganization)
      .addSuccess(Organization.json, { status: 201 })
      .addError(Conflict)
      .addError(Forbidden)
      .annotate(
        OpenApi.Description,
        "Platform ADMINs and signed-in users (who become its OWNER) create organisations; organisation API keys cannot."
      )
  )
  .add(
    HttpApiEndpoint.get("slugAvailability", "/api/v1/organizations/slug-availability")
      .setUrlParams(Schema.Struct({ slug: Schema.String.pipe(Schema.maxLength(100)) }))
      .addSuccess(SlugAvailability)
  )
  .add(
    HttpApiEndpoint.get("get")`/api/v1/organizations/${organizationId}`
      .addSuccess(Organization.json)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}`
      .setPayload(UpdateOrganization)
      .addSuccess(Organization.json)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.put("setLogo")`/api/v1/organizations/${organizationId}/logo`
      .setPayload(UseUpload)
      .addSuccess(Organization.json)
      .annotate(
        OpenApi.Description,
        "Makes an uploaded image (`POST …/uploads` with purpose logo: PNG, JPEG or WebP up to 512 KB) the organisation's logo; `branding.logoUrl` then points at Tapline's copy, shown on the pages Tapline renders (the invitation page)."
      )
  )
  .add(
    HttpApiEndpoint.del("removeLogo")`/api/v1/organizations/${organizationId}/logo`.addSuccess(
      Organization.json
    )
  )
  .add(
    HttpApiEndpoint.del("delete")`/api/v1/organizations/${organizationId}`
      .addSuccess(NoContent)
      .addError(NotFound)
      .addError(Forbidden)
      .annotate(
        OpenApi.Description,
        "Soft delete: its taps stop resolving at once; a platform ADMIN can restore it."
      )
  )
  .addError(InvalidRequest)
  .addError(NotFound)
  .addError(Conflict)
  .addError(Forbidden)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Organisations")
  .annotate(OpenApi.Description, "Tenants: each owns a tap subdomain, its campaigns, events and bands.") {}
