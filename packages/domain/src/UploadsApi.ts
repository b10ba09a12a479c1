import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Forbidden, InvalidRequest, NotFound, TooManyRequests } from "./Errors.js"
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
  contentType: UploadContentType,
  /** The file's exact size in bytes, at most the purpose's `maxBytes`: the link takes that many bytes only. */
  size: Schema.Int.pipe(Schema.positive())
}).annotations({ examples: [{ purpose: "band-import", contentType: "text/csv", size: 52_431 }] })

/**
 * Where to PUT the file: send exactly `contentType` and exactly `size` bytes, before `expiresAt`. Storage
 * refuses any other type (403) or size (S3: 403; Tapline's own links: 413 when larger). Once the upload is
 * used, Tapline's own links write no more and whatever S3 receives under its key afterwards is removed.
 */
export const UploadTicket = Schema.Struct({
  id: UploadId,
  purpose: UploadPurpose,
  contentType: UploadContentType,
  method: Schema.Literal("PUT"),
  uploadUrl: Schema.String,
  size: Schema.Number,
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
        "A presigned PUT for a file too large for one request (band imports up to 64 MB) or an organisation logo (PNG, JPEG or WebP up to 512 KB), of the type and exact size declared. Upload within minutes, then name the upload's id where it is used. Unused uploads are removed after a day. Tickets are limited per organisation and minute (429 with Retry-After)."
      )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(InvalidRequest)
  .addError(TooManyRequests)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Uploads")
  .annotate(OpenApi.Description, "Files sent straight to object storage by presigned URL.") {}
