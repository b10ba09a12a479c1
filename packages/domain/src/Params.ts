import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"
import { ApiKeyId, BandId, CampaignId, EventId, OrganizationId, TagId, UserId, WindowId } from "./Ids.js"

/** Path parameters shared by the groups; every tenant resource lives under its organisation. */
export const organizationId = HttpApiSchema.param("organizationId", OrganizationId)
export const campaignId = HttpApiSchema.param("campaignId", CampaignId)
export const eventId = HttpApiSchema.param("eventId", EventId)
export const windowId = HttpApiSchema.param("windowId", WindowId)
export const bandId = HttpApiSchema.param("bandId", BandId)
export const tagId = HttpApiSchema.param("tagId", TagId)
export const userId = HttpApiSchema.param("userId", UserId)
export const apiKeyId = HttpApiSchema.param("apiKeyId", ApiKeyId)

/** `?deleted=true` lists the trash instead of the live rows. */
export const Deleted = Schema.optionalWith(Schema.BooleanFromString, { default: () => false })

/** 204 No Content. */
export const NoContent = HttpApiSchema.NoContent
