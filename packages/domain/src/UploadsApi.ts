import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { organizationId } from "./Params.js"

export const UploadId = Schema.UUID.pipe(Schema.brand("UploadId"))
export type UploadId = typeof UploadId.Type

/** What an upload is for decides the types and the size it may have. */
export const UploadPurpose = Schema.Literal("band-import", "logo")
export type UploadPurpose = typeof UploadPurpose.Type

export const UploadContentType = Schema.Literal(
  "text/csv",
  "application/json",
  "image/png",
  "image/jpeg",
  "image/webp"
)
export type UploadContentType = typeof UploadContentType.Type

/** Per purpose: the types accepted and the largest object, in bytes. */
export const uploadRules: Record<
  UploadPurpose,
  { readonly contentTypes: ReadonlyArray<UploadContentType>; readonly maxBytes: number }
> = {
  "band-import": { contentTypes: ["text/csv", "application/json"], maxBytes: 64 * 1024 * 1024 },
  logo: { contentTypes: ["image/png", "image/jpeg", "image/webp"], maxBytes: 512 * 1024 }
}

export const CreateUpload = Schema.Struct({
  purpose: UploadPurpose,
  contentType: UploadContentType
}).annotations({ examples: [{ purpose: "band-import", contentType: "text/csv" }] })

/** Where to PUT the file: send exactly `contentType`, before `expiresAt`, at most `maxBytes`. */
export const UploadTicket = Schema.Struct({
  id: UploadId,
  purpose: UploadPurpose,
  contentType: UploadContentType,
  method: Schema.Literal("PUT"),
  uploadUrl: Schema.String,
  maxBytes: Schema.Number,
  expiresAt: Schema.DateTimeUtc
})

/** Names an uploaded object in the request that uses it. */
export const UseUpload = Schema.Struct({ uploadId: UploadId })

export class UploadsApi extends HttpApiGroup.make("uploads")
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/uploads`
      .setPayload(CreateUpload)
      .addSuccess(UploadTicket, { status: 201 })
      .annotate(
        OpenApi.Description,
        "A presigned PUT for a file too large for one request (band imports up to 64 MB) or an organisation logo (PNG, JPEG or WebP up to 512 KB). Upload, then name the upload's id where it is used. Unused uploads are removed after a day."
      )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Uploads")
  .annotate(OpenApi.Description, "Files sent straight to object storage by presigned URL.") {}
