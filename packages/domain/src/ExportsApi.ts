import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound, TooManyRequests } from "./Errors.js"
import { Instant } from "./Fields.js"
import { EventId } from "./Ids.js"
import { Page, PageParams } from "./Pagination.js"
import { organizationId } from "./Params.js"

export const ExportId = Schema.UUID.pipe(Schema.brand("ExportId"))
export type ExportId = typeof ExportId.Type

const Filter = Schema.optional(Schema.String.pipe(Schema.maxLength(100)))

export const CreateExport = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("taps"),
    eventId: EventId,
    from: Schema.optional(Instant),
    to: Schema.optional(Instant)
  }),
  Schema.Struct({
    kind: Schema.Literal("audit"),
    action: Filter,
    resourceType: Filter,
    resourceId: Filter,
    actorId: Filter,
    from: Schema.optional(Instant),
    to: Schema.optional(Instant)
  })
).annotations({ examples: [{ kind: "taps", eventId: "01a2028c-3b1e-7c00-8000-0000000000e1" } as never] })

export class Export extends Schema.Class<Export>("Export")({
  id: ExportId,
  kind: Schema.Literal("taps", "audit"),
  params: Schema.Unknown,
  /** The name of the event whose taps these are; null for the audit log (or an event since purged). */
  eventName: Schema.NullOr(Schema.String),
  status: Schema.Literal("queued", "running", "done", "failed", "expired"),
  rows: Schema.NullOr(Schema.Number),
  bytes: Schema.NullOr(Schema.Number),
  error: Schema.NullOr(Schema.String),
  createdAt: Schema.DateTimeUtc,
  finishedAt: Schema.NullOr(Schema.DateTimeUtc),
  /** When the file is removed; set once the export is done. */
  expiresAt: Schema.NullOr(Schema.DateTimeUtc),
  /** A presigned link to the file while the export is done, valid for a few minutes; null otherwise. */
  downloadUrl: Schema.NullOr(Schema.String)
}) {}

const exportId = HttpApiSchema.param("exportId", ExportId)

export class ExportsApi extends HttpApiGroup.make("exports")
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/exports`
      .setPayload(CreateExport)
      .addSuccess(Export, { status: 202 })
      .annotate(
        OpenApi.Description,
        "Queues a CSV export (taps of an event: VIEWER; audit log: OWNER) for a background job; poll it, then download."
      )
      .addError(TooManyRequests)
  )
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/exports`
      .setUrlParams(PageParams)
      .addSuccess(Page(Export))
      .annotate(
        OpenApi.Description,
        "The exports the caller may read: exports of the audit log are listed to OWNERs only (an export is its content)."
      )
  )
  .add(
    HttpApiEndpoint.get("get")`/api/v1/organizations/${organizationId}/exports/${exportId}`
      .addSuccess(Export)
      .annotate(OpenApi.Description, "403 below the export's role, as for its download (audit log: OWNER).")
  )
  .add(
    HttpApiEndpoint.get("download")`/api/v1/organizations/${organizationId}/exports/${exportId}/download`
      .addSuccess(Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/csv" })))
      .annotate(
        OpenApi.Description,
        "302 to a presigned link of the finished CSV (valid a few minutes); 409 while the export is not done or after it expired."
      )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Exports")
  .annotate(OpenApi.Description, "CSV exports produced by background jobs, kept for seven days.") {}
