import { Schema } from "effect"

/** Every id is a UUID (v7 when Tapline generates it); the brand keeps one kind from standing in for another. */
const uuid = <B extends string>(brand: B) => Schema.UUID.pipe(Schema.brand(brand))

export const OrganizationId = uuid("OrganizationId")
export type OrganizationId = typeof OrganizationId.Type

export const UserId = uuid("UserId")
export type UserId = typeof UserId.Type

export const CampaignId = uuid("CampaignId")
export type CampaignId = typeof CampaignId.Type

export const EventId = uuid("EventId")
export type EventId = typeof EventId.Type

export const WindowId = uuid("WindowId")
export type WindowId = typeof WindowId.Type

export const BandId = uuid("BandId")
export type BandId = typeof BandId.Type

export const TagId = uuid("TagId")
export type TagId = typeof TagId.Type

export const TapId = uuid("TapId")
export type TapId = typeof TapId.Type

export const AuditEntryId = uuid("AuditEntryId")
export type AuditEntryId = typeof AuditEntryId.Type

export const ApiKeyId = uuid("ApiKeyId")
export type ApiKeyId = typeof ApiKeyId.Type
