import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { AuditEntry } from "./AuditEntry.js"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Instant } from "./Fields.js"
import { Page, PageParams } from "./Pagination.js"
import { organizationId } from "./Params.js"

const AuditFilterFields = {
  action: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
  resourceType: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
  resourceId: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
  actorId: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
  from: Schema.optional(Instant),
  to: Schema.optional(Instant)
}

export const AuditFilters = Schema.Struct({ ...PageParams.fields, ...AuditFilterFields })
export const AuditExportFilters = Schema.Struct(AuditFilterFields)

export class AuditApi extends HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/audit`
      .setUrlParams(AuditFilters)
      .addSuccess(Page(AuditEntry))
      .annotate(OpenApi.Description, "Newest first. OWNER only.")
  )
  .add(
    HttpApiEndpoint.get("export")`/api/v1/organizations/${organizationId}/audit/export`
      .setUrlParams(AuditExportFilters)
      .addSuccess(Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/csv" })))
      .annotate(OpenApi.Description, "The filtered entries as CSV, streamed.")
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Audit log")
  .annotate(OpenApi.Description, "Every change, who made it and from where; entries cannot be altered.") {}
