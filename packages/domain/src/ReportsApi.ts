import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, DependencyUnavailable, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Instant } from "./Fields.js"
import { BandId, TagId, WindowId } from "./Ids.js"
import { Page, PageParams } from "./Pagination.js"
import { NoContent, organizationId } from "./Params.js"

/*
 * Signed sponsor reports (issue 35, item 4; docs/reports.md). An activation is a named selection of bands, tags
 * and/or windows over a range; a report issued for it holds its bot-free, de-duplicated figures, signed with
 * Ed25519 so a sponsor can check offline that they came from Tapline, unchanged.
 */

export const ActivationId = Schema.UUID.pipe(Schema.brand("ActivationId"))
export type ActivationId = typeof ActivationId.Type

export const ReportId = Schema.UUID.pipe(Schema.brand("ReportId"))
export type ReportId = typeof ReportId.Type

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
const Ids = <A, I>(id: Schema.Schema<A, I>) => Schema.Array(id).pipe(Schema.maxItems(300))

export class Activation extends Schema.Class<Activation>("Activation")({
  id: ActivationId,
  name: Schema.String,
  bandIds: Schema.Array(BandId),
  tagIds: Schema.Array(TagId),
  windowIds: Schema.Array(WindowId),
  startsAt: Schema.DateTimeUtc,
  endsAt: Schema.DateTimeUtc,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

export const CreateActivation = Schema.Struct({
  name: Name,
  bandIds: Schema.optionalWith(Ids(BandId), { default: () => [] }),
  tagIds: Schema.optionalWith(Ids(TagId), { default: () => [] }),
  windowIds: Schema.optionalWith(Ids(WindowId), { default: () => [] }),
  startsAt: Instant,
  endsAt: Instant
}).annotations({
  examples: [
    {
      name: "Brand booth, Saturday",
      tagIds: ["01a2028c-3b1e-7c00-8000-0000000000a1"],
      startsAt: "2026-06-06T10:00:00Z",
      endsAt: "2026-06-06T22:00:00Z"
    } as never
  ]
})

export const UpdateActivation = Schema.Struct({
  name: Schema.optional(Name),
  bandIds: Schema.optional(Ids(BandId)),
  tagIds: Schema.optional(Ids(TagId)),
  windowIds: Schema.optional(Ids(WindowId)),
  startsAt: Schema.optional(Instant),
  endsAt: Schema.optional(Instant)
}).annotations({ examples: [{ name: "Brand booth, all weekend" } as never] })

const Count = Schema.Number

/** The figures of a report: taps by people (bots apart), each counted once (repeat taps within the interval apart). */
export const ReportFigures = Schema.Struct({
  taps: Count,
  uniqueBands: Count,
  /** What was left out, for the record: taps flagged as bots, and repeats of a band's tap within the interval. */
  excluded: Schema.Struct({ botTaps: Count, duplicateTaps: Count }),
  windows: Schema.Array(
    Schema.Struct({
      windowId: Schema.String,
      eventId: Schema.String,
      type: Schema.String,
      title: Schema.String,
      taps: Count,
      uniqueBands: Count
    })
  ),
  tags: Schema.Array(
    Schema.Struct({ tagId: Schema.String, name: Schema.String, taps: Count, uniqueBands: Count })
  ),
  bands: Schema.Array(Schema.Struct({ bandId: Schema.String, bandUid: Schema.String, taps: Count }))
})

/** One change to the activation, from the audit log: when, who, what (the action and the fields it changed). */
export const ReportAuditEntry = Schema.Struct({
  at: Schema.String,
  actor: Schema.Struct({ type: Schema.String, id: Schema.NullOr(Schema.String) }),
  action: Schema.String,
  changed: Schema.Array(Schema.String)
})

/** The signed body. Instants are ISO 8601 UTC text, so the canonical form is the same everywhere. */
export const ReportBody = Schema.Struct({
  format: Schema.Literal("tapline.report/1"),
  id: Schema.String,
  organization: Schema.Struct({ id: Schema.String, name: Schema.String }),
  activation: Schema.Struct({
    id: Schema.String,
    name: Schema.String,
    bandIds: Schema.Array(Schema.String),
    tagIds: Schema.Array(Schema.String),
    windowIds: Schema.Array(Schema.String)
  }),
  range: Schema.Struct({ from: Schema.String, to: Schema.String }),
  issuedAt: Schema.String,
  figures: ReportFigures,
  auditTrail: Schema.Array(ReportAuditEntry),
  /** Tap authenticity verdicts arrive later; null until then. */
  authenticity: Schema.Null
})
export type ReportBody = typeof ReportBody.Type

/** The exported JSON file: the body, and the Ed25519 signature (base64) over its canonical JSON. */
export const SignedReport = Schema.Struct({
  report: ReportBody,
  algorithm: Schema.Literal("Ed25519"),
  keyId: Schema.String,
  signature: Schema.String
})
export type SignedReport = typeof SignedReport.Type

export class Report extends Schema.Class<Report>("Report")({
  id: ReportId,
  activationId: ActivationId,
  issuedAt: Schema.DateTimeUtc,
  keyId: Schema.String,
  signed: SignedReport
}) {}

/** The public keys document at `/.well-known/tapline/report-keys.json`. */
export const ReportKeysDocument = Schema.Struct({
  keys: Schema.Array(
    Schema.Struct({
      keyId: Schema.String,
      algorithm: Schema.Literal("Ed25519"),
      publicKey: Schema.String,
      status: Schema.Literal("active", "retired")
    })
  )
})
export type ReportKeysDocument = typeof ReportKeysDocument.Type

const activationId = HttpApiSchema.param("activationId", ActivationId)
const reportId = HttpApiSchema.param("reportId", ReportId)
const Redirect = Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain" }))

export class ReportsApi extends HttpApiGroup.make("reports")
  .add(
    HttpApiEndpoint.get("listActivations")`/api/v1/organizations/${organizationId}/activations`
      .setUrlParams(PageParams)
      .addSuccess(Page(Activation))
  )
  .add(
    HttpApiEndpoint.post("createActivation")`/api/v1/organizations/${organizationId}/activations`
      .setPayload(CreateActivation)
      .addSuccess(Activation, { status: 201 })
  )
  .add(
    HttpApiEndpoint.get(
      "getActivation"
    )`/api/v1/organizations/${organizationId}/activations/${activationId}`.addSuccess(Activation)
  )
  .add(
    HttpApiEndpoint.patch(
      "updateActivation"
    )`/api/v1/organizations/${organizationId}/activations/${activationId}`
      .setPayload(UpdateActivation)
      .addSuccess(Activation)
  )
  .add(
    HttpApiEndpoint.del(
      "deleteActivation"
    )`/api/v1/organizations/${organizationId}/activations/${activationId}`
      .addSuccess(NoContent)
      .annotate(OpenApi.Description, "Deletes the activation; the reports issued for it stay.")
  )
  .add(
    HttpApiEndpoint.post("issue")`/api/v1/organizations/${organizationId}/activations/${activationId}/reports`
      .addSuccess(Report, { status: 201 })
      .annotate(
        OpenApi.Description,
        "Computes the activation's figures from the taps, signs them and keeps the report (JSON and PDF) in storage."
      )
  )
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/activations/${activationId}/reports`
      .setUrlParams(PageParams)
      .addSuccess(Page(Report))
  )
  .add(
    HttpApiEndpoint.get("get")`/api/v1/organizations/${organizationId}/reports/${reportId}`.addSuccess(Report)
  )
  .add(
    HttpApiEndpoint.get("downloadJson")`/api/v1/organizations/${organizationId}/reports/${reportId}/json`
      .addSuccess(Redirect)
      .annotate(OpenApi.Description, "302 to a presigned link of the signed JSON document.")
  )
  .add(
    HttpApiEndpoint.get("downloadPdf")`/api/v1/organizations/${organizationId}/reports/${reportId}/pdf`
      .addSuccess(Redirect)
      .annotate(OpenApi.Description, "302 to a presigned link of the PDF.")
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(InvalidRequest)
  .addError(Conflict)
  .addError(DependencyUnavailable)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Reports")
  .annotate(
    OpenApi.Description,
    "Activations (a sponsor's bands, tags or windows over a range) and the signed reports issued for them. Public keys: /.well-known/tapline/report-keys.json."
  ) {}
