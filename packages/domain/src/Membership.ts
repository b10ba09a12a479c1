import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { OrganizationId, UserId } from "./Ids.js"

/** VIEWER reads; EDITOR manages campaigns, events, windows and bands; OWNER also members, keys and the organisation. */
export const MemberRole = Schema.Literal("OWNER", "EDITOR", "VIEWER")
export type MemberRole = typeof MemberRole.Type

export class Membership extends Model.Class<Membership>("Membership")({
  userId: UserId,
  organizationId: OrganizationId,
  role: MemberRole,
  createdAt: Model.DateTimeInsertFromDate
}) {}
