import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Campaign, CampaignStatus } from "./Campaign.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { CalendarDate } from "./Fields.js"
import { Page, PageParams } from "./Pagination.js"
import { campaignId, Deleted, NoContent, organizationId, PurgeParams } from "./Params.js"

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))

export const CreateCampaign = Schema.Struct({
  name: Name,
  status: Schema.optionalWith(CampaignStatus, { default: () => "DRAFT" as const }),
  startsOn: Schema.optional(CalendarDate),
  endsOn: Schema.optional(CalendarDate)
}).annotations({
  examples: [
    { name: "Summer tour 2026", status: "DRAFT", startsOn: "2026-06-01", endsOn: "2026-08-31" } as never
  ]
})

export const UpdateCampaign = Schema.Struct({
  name: Schema.optional(Name),
  status: Schema.optional(CampaignStatus),
  startsOn: Schema.optional(Schema.NullOr(CalendarDate)),
  endsOn: Schema.optional(Schema.NullOr(CalendarDate))
}).annotations({ examples: [{ status: "ACTIVE" } as never] })

export const CampaignFilters = Schema.Struct({
  ...PageParams.fields,
  status: Schema.optional(CampaignStatus),
  deleted: Deleted
})

export class CampaignsApi extends HttpApiGroup.make("campaigns")
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/campaigns`
      .setUrlParams(CampaignFilters)
      .addSuccess(Page(Campaign.json))
  )
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/campaigns`
      .setPayload(CreateCampaign)
      .addSuccess(Campaign.json, { status: 201 })
  )
  .add(
    HttpApiEndpoint.get("get")`/api/v1/organizations/${organizationId}/campaigns/${campaignId}`.addSuccess(
      Campaign.json
    )
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/campaigns/${campaignId}`
      .setPayload(UpdateCampaign)
      .addSuccess(Campaign.json)
  )
  .add(
    HttpApiEndpoint.del("delete")`/api/v1/organizations/${organizationId}/campaigns/${campaignId}`
      .setUrlParams(PurgeParams)
      .addSuccess(NoContent)
  )
  .add(
    HttpApiEndpoint.post(
      "restore"
    )`/api/v1/organizations/${organizationId}/campaigns/${campaignId}/restore`.addSuccess(Campaign.json)
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(InvalidRequest)
  .addError(Conflict)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Campaigns")
  .annotate(OpenApi.Description, "Optional grouping of events, such as the dates of a tour.") {}
