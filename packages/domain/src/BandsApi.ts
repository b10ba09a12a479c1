import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Band } from "./Band.js"
import { hasControlCharacters } from "./ControlCharacters.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Email } from "./Fields.js"
import { BandId, EventId, TagId } from "./Ids.js"
import { Page, PageParams } from "./Pagination.js"
import { bandId, Deleted, eventId, NoContent, organizationId, PurgeParams } from "./Params.js"
import { Tap } from "./Tap.js"
import { UseUpload } from "./UploadsApi.js"

export const MAX_IMPORT_ROWS = 200_000

/** A band with its tag ids. */
export const BandView = Schema.Struct({ ...Band.json.fields, tagIds: Schema.Array(TagId) })
export type BandView = typeof BandView.Type

/**
 * One row of an import. Rows are checked one by one on the server, so a bad row is reported with its line
 * and the good ones are kept: the payload accepts any JSON values here.
 */
export const ImportRow = Schema.Struct({
  bandUid: Schema.String,
  registrantName: Schema.optional(Schema.String),
  registrantEmail: Schema.optional(Schema.String),
  /** Tag names; unknown names are created. */
  tags: Schema.optional(Schema.Array(Schema.String))
})

export const ImportJson = Schema.Struct({
  bands: Schema.Array(Schema.Unknown).pipe(Schema.maxItems(MAX_IMPORT_ROWS)).annotations({
    description: "Rows shaped like `{ bandUid, registrantName?, registrantEmail?, tags?: string[] }`."
  })
}).annotations({
  examples: [
    {
      bands: [{ bandUid: "WB-0001", registrantName: "Ana Silva", tags: ["VIP"] }, { bandUid: "WB-0002" }]
    } as never
  ]
})

export const ImportCsv = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/csv" }),
  Schema.annotations({
    description:
      "CSV with a header row: `band_uid` (required), `registrant_name`, `registrant_email`, `phone`, `locale`, " +
      "`consent_email`, `consent_sms` (yes/no), `consent_wording`, `tags` (separated by `;`)."
  })
)

export const ImportResult = Schema.Struct({
  received: Schema.Number,
  created: Schema.Number,
  updated: Schema.Number,
  unchanged: Schema.Number,
  invalidCount: Schema.Number,
  /** The first 1 000 invalid rows: `line` is the CSV line (header = 1) or the JSON array index + 1. */
  invalid: Schema.Array(Schema.Struct({ line: Schema.Number, message: Schema.String }))
})
export type ImportResult = typeof ImportResult.Type

/** The keys the bands list sorts by (a whitelist: each is one SQL expression on the server). */
export const BandSort = Schema.Literal("created", "bandUid", "registrantName", "lastTapAt")
export type BandSort = typeof BandSort.Type
export const SortOrder = Schema.Literal("asc", "desc")
export type SortOrder = typeof SortOrder.Type

export const BandFilters = Schema.Struct({
  ...PageParams.fields,
  /** A sorted list's cursor holds the last band's sort value (a registrant name of up to 200 characters). */
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(1_000))),
  /** `created` (the default) is the bands' id order. Bands without the value come last in either order. */
  sort: Schema.optionalWith(BandSort, { default: () => "created" as const }),
  order: Schema.optionalWith(SortOrder, { default: () => "asc" as const }),
  eventId: Schema.optional(EventId),
  flagged: Schema.optional(Schema.BooleanFromString),
  autoAssigned: Schema.optional(Schema.BooleanFromString),
  tagId: Schema.optional(TagId),
  /** `tapped`: at least one tap; `never`: none yet. */
  activity: Schema.optional(Schema.Literal("tapped", "never")),
  /** Band id prefix, or part of the registrant's name or email. */
  q: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  deleted: Deleted
})

/** Why a band is flagged, as an organiser writes it: one line, no control characters. */
export const FlagReason = Schema.String.pipe(
  Schema.maxLength(500),
  Schema.filter((value) => !hasControlCharacters(value), {
    message: () => "a flag reason without control characters (line breaks, tabs, NUL, …)"
  })
)

export const UpdateBand = Schema.Struct({
  registrantName: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(200)))),
  registrantEmail: Schema.optional(Schema.NullOr(Email)),
  /** `true` flags the band (with `flagReason`, if given); `false` clears the flag and its reason. */
  flagged: Schema.optional(Schema.Boolean),
  /** Only with `flagged: true`. */
  flagReason: Schema.optional(FlagReason)
}).annotations({
  examples: [
    { registrantName: "Ana Silva", registrantEmail: "ana@example.com" } as never,
    { flagged: true, flagReason: "reported lost at the gate" } as never
  ]
})

export const BulkReassign = Schema.Struct({
  bandIds: Schema.Array(BandId).pipe(Schema.minItems(1), Schema.maxItems(10_000)),
  eventId: EventId
}).annotations({
  examples: [
    {
      bandIds: ["01a2028c-3b1e-7c00-8000-000000000001"],
      eventId: "01a2028c-3b1e-7c00-8000-0000000000e1"
    } as never
  ]
})

export const BulkReassignResult = Schema.Struct({
  moved: Schema.Number,
  /** Bands whose id already exists in the target event; they stay where they were. */
  conflicts: Schema.Array(BandId)
})

export class BandsApi extends HttpApiGroup.make("bands")
  .add(
    HttpApiEndpoint.post("import")`/api/v1/organizations/${organizationId}/events/${eventId}/bands/import`
      .setPayload(Schema.Union(ImportJson, ImportCsv))
      .addSuccess(ImportResult)
      .annotate(
        OpenApi.Description,
        "Up to 200 000 bands as JSON or CSV. Valid rows are stored, invalid ones reported by line; importing the same file again changes nothing."
      )
  )
  .add(
    HttpApiEndpoint.post(
      "importUpload"
    )`/api/v1/organizations/${organizationId}/events/${eventId}/bands/import-upload`
      .setPayload(UseUpload)
      .addSuccess(ImportResult)
      .annotate(
        OpenApi.Description,
        "Imports an uploaded file (`POST …/uploads` with purpose band-import, then PUT the CSV or JSON), as `import` does; the upload is used up."
      )
  )
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/bands`
      .setUrlParams(BandFilters)
      .addSuccess(Page(BandView))
  )
  .add(
    HttpApiEndpoint.get("get")`/api/v1/organizations/${organizationId}/bands/${bandId}`.addSuccess(BandView)
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/bands/${bandId}`
      .setPayload(UpdateBand)
      .addSuccess(BandView)
  )
  .add(
    HttpApiEndpoint.del("delete")`/api/v1/organizations/${organizationId}/bands/${bandId}`
      .setUrlParams(PurgeParams)
      .addSuccess(NoContent)
  )
  .add(
    HttpApiEndpoint.post(
      "restore"
    )`/api/v1/organizations/${organizationId}/bands/${bandId}/restore`.addSuccess(BandView)
  )
  .add(
    HttpApiEndpoint.post("reassign")`/api/v1/organizations/${organizationId}/bands/${bandId}/reassign`
      .setPayload(
        Schema.Struct({ eventId: EventId }).annotations({
          examples: [{ eventId: "01a2028c-3b1e-7c00-8000-0000000000e1" } as never]
        })
      )
      .addSuccess(BandView)
      .annotate(OpenApi.Description, "Moves the band to another event of the organisation.")
  )
  .add(
    HttpApiEndpoint.post("bulkReassign")`/api/v1/organizations/${organizationId}/bands/reassign`
      .setPayload(BulkReassign)
      .addSuccess(BulkReassignResult)
  )
  .add(
    HttpApiEndpoint.post(
      "resolveFlag"
    )`/api/v1/organizations/${organizationId}/bands/${bandId}/resolve-flag`.addSuccess(BandView)
  )
  .add(
    HttpApiEndpoint.put("setTags")`/api/v1/organizations/${organizationId}/bands/${bandId}/tags`
      .setPayload(
        Schema.Struct({ tagIds: Schema.Array(TagId).pipe(Schema.maxItems(100)) }).annotations({
          examples: [{ tagIds: ["01a2028c-3b1e-7c00-8000-0000000000a1"] } as never]
        })
      )
      .addSuccess(BandView)
  )
  .add(
    HttpApiEndpoint.get("activity")`/api/v1/organizations/${organizationId}/bands/${bandId}/activity`
      .setUrlParams(PageParams)
      .addSuccess(Page(Tap))
      .annotate(OpenApi.Description, "The band's taps, newest first.")
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Bands")
  .annotate(
    OpenApi.Description,
    "Wristbands of an event, imported in bulk or assigned by their first tap."
  ) {}
