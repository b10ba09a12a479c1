import { Schema } from "effect"
import { Instant } from "./Fields.js"
import { ApiKeyId, OrganizationId } from "./Ids.js"
import { MemberRole } from "./Membership.js"

/** An organisation API key as lists show it: never the secret, only its first characters. */
export class ApiKey extends Schema.Class<ApiKey>("ApiKey")({
  id: ApiKeyId,
  organizationId: Schema.NullOr(OrganizationId),
  name: Schema.String,
  role: Schema.NullOr(MemberRole),
  hint: Schema.String,
  createdAt: Schema.DateTimeUtc,
  lastUsedAt: Schema.NullOr(Schema.DateTimeUtc),
  expiresAt: Schema.NullOr(Schema.DateTimeUtc),
  revokedAt: Schema.NullOr(Schema.DateTimeUtc)
}) {}

export const CreateApiKey = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100)),
  role: MemberRole,
  expiresAt: Schema.optional(Instant)
}).annotations({
  examples: [{ name: "ticketing sync", role: "EDITOR", expiresAt: "2027-01-01T00:00:00Z" } as never]
})

/** The only response that carries the secret; it cannot be shown again. */
export const CreatedApiKey = Schema.Struct({ key: ApiKey, secret: Schema.String })
