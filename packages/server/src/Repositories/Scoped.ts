import { OrganizationId } from "@tapline/domain"
import { Schema } from "effect"

/** Every tenant lookup names the organisation, so a foreign id finds nothing instead of another tenant's row. */
export const scoped = <I extends Schema.Schema.Any>(id: I) =>
  Schema.Struct({ organizationId: OrganizationId, id })
