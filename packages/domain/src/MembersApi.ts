import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { ApiKey, CreateApiKey, CreatedApiKey } from "./ApiKey.js"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Email } from "./Fields.js"
import { UserId } from "./Ids.js"
import { MemberRole } from "./Membership.js"
import { Page, PageParams } from "./Pagination.js"
import { apiKeyId, NoContent, organizationId, userId } from "./Params.js"

export const Member = Schema.Struct({
  userId: UserId,
  email: Schema.String,
  name: Schema.String,
  role: MemberRole,
  createdAt: Schema.DateTimeUtc
})

export const AddMember = Schema.Struct({ email: Email, role: MemberRole }).annotations({
  examples: [{ email: "ana@acme.example", role: "EDITOR" } as never]
})

export class MembersApi extends HttpApiGroup.make("members")
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/members`
      .setUrlParams(PageParams)
      .addSuccess(Page(Member))
  )
  .add(
    HttpApiEndpoint.post("add")`/api/v1/organizations/${organizationId}/members`
      .setPayload(AddMember)
      .addSuccess(Member, { status: 201 })
      .annotate(OpenApi.Description, "Adds a user by email (created if unknown) with a role. OWNER only.")
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/members/${userId}`
      .setPayload(Schema.Struct({ role: MemberRole }).annotations({ examples: [{ role: "VIEWER" }] }))
      .addSuccess(Member)
  )
  .add(
    HttpApiEndpoint.del("remove")`/api/v1/organizations/${organizationId}/members/${userId}`.addSuccess(
      NoContent
    )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Members")
  .annotate(
    OpenApi.Description,
    "Users of an organisation and their roles. An organisation always keeps at least one OWNER."
  ) {}

export class ApiKeysApi extends HttpApiGroup.make("apiKeys")
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/api-keys`
      .setUrlParams(PageParams)
      .addSuccess(Page(ApiKey))
  )
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/api-keys`
      .setPayload(CreateApiKey)
      .addSuccess(CreatedApiKey, { status: 201 })
      .annotate(OpenApi.Description, "The secret is in this response only; it is stored hashed.")
  )
  .add(
    HttpApiEndpoint.del("revoke")`/api/v1/organizations/${organizationId}/api-keys/${apiKeyId}`.addSuccess(
      ApiKey
    )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "API keys")
  .annotate(OpenApi.Description, "Organisation API keys, each with a role. OWNER only.") {}
