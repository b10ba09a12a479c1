import { Context, Schema } from "effect"
import { ActorType } from "./AuditEntry.js"
import { OrganizationId, UserId } from "./Ids.js"
import { MemberRole } from "./Membership.js"

/** Who is calling, as the `Auth` service resolved it from the request's credentials. */
export class Principal extends Schema.Class<Principal>("Principal")({
  actorType: ActorType,
  /** The API key's id, or the user's id for a session. */
  actorId: Schema.String,
  userId: Schema.NullOr(UserId),
  /** A platform ADMIN may act in every organisation. */
  platformAdmin: Schema.Boolean,
  roles: Schema.Record({ key: OrganizationId, value: MemberRole }),
  /** The sign-in session the request came with; absent for API keys. */
  sessionId: Schema.optional(Schema.String)
}) {}

export class CurrentPrincipal extends Context.Tag("@tapline/domain/CurrentPrincipal")<
  CurrentPrincipal,
  Principal
>() {}
