import * as Model from "@effect/sql/Model"
import { Schema } from "effect"
import { Email, TimeZone } from "./Fields.js"
import { UserId } from "./Ids.js"

/** ADMIN operates the platform and may act in every organisation; everyone else is a CUSTOMER. */
export const PlatformRole = Schema.Literal("ADMIN", "CUSTOMER")
export type PlatformRole = typeof PlatformRole.Type

export class User extends Model.Class<User>("User")({
  id: Model.Generated(UserId),
  email: Email,
  name: Schema.String.pipe(Schema.maxLength(200)),
  platformRole: PlatformRole,
  timezone: TimeZone,
  createdAt: Model.DateTimeInsertFromDate,
  updatedAt: Model.DateTimeUpdateFromDate
}) {}
