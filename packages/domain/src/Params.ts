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

/**
 * `?purge=true` on a DELETE removes an item of the trash for good (OWNER only); without it, DELETE moves the
 * item to the trash.
 */
export const PurgeParams = Schema.Struct({
  purge: Schema.optionalWith(Schema.BooleanFromString, { default: () => false }).annotations({
    description: "true: delete for good an item already in the trash (OWNER); a live item is a 409"
  })
})

/** 204 No Content. */
export const NoContent = HttpApiSchema.NoContent
