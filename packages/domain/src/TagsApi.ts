import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Page, PageParams } from "./Pagination.js"
import { NoContent, organizationId, tagId } from "./Params.js"
import { Tag } from "./Tag.js"

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))
const Color = Schema.String.pipe(
  Schema.pattern(/^#[0-9a-fA-F]{6}$/, { message: () => "a colour as #rrggbb" })
)

export const CreateTag = Schema.Struct({ name: Name, color: Schema.optional(Color) }).annotations({
  examples: [{ name: "VIP", color: "#d4af37" } as never]
})
export const UpdateTag = Schema.Struct({
  name: Schema.optional(Name),
  color: Schema.optional(Schema.NullOr(Color))
}).annotations({ examples: [{ color: null } as never] })

export class TagsApi extends HttpApiGroup.make("tags")
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/tags`
      .setUrlParams(PageParams)
      .addSuccess(Page(Tag.json))
  )
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/tags`
      .setPayload(CreateTag)
      .addSuccess(Tag.json, { status: 201 })
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/tags/${tagId}`
      .setPayload(UpdateTag)
      .addSuccess(Tag.json)
  )
  .add(
    HttpApiEndpoint.del("delete")`/api/v1/organizations/${organizationId}/tags/${tagId}`.addSuccess(NoContent)
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Tags")
  .annotate(OpenApi.Description, "Labels for bands, per organisation; names are unique ignoring case.") {}
