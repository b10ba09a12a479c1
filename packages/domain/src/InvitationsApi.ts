import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import {
  Conflict,
  DependencyUnavailable,
  Forbidden,
  InvalidRequest,
  NotFound,
  TooManyRequests
} from "./Errors.js"
import { Email } from "./Fields.js"
import { OrganizationId } from "./Ids.js"
import { MemberRole } from "./Membership.js"
import { NoContent, organizationId } from "./Params.js"

export const InvitationId = Schema.UUID.pipe(Schema.brand("InvitationId"))
export type InvitationId = typeof InvitationId.Type
const invitationId = HttpApiSchema.param("invitationId", InvitationId)
const invitationToken = HttpApiSchema.param("token", Schema.String.pipe(Schema.maxLength(200)))

export const Invitation = Schema.Struct({
  id: InvitationId,
  organizationId: OrganizationId,
  email: Schema.String,
  role: MemberRole,
  invitedBy: Schema.NullOr(Schema.String),
  createdAt: Schema.DateTimeUtc,
  expiresAt: Schema.DateTimeUtc
})

/**
 * A new invitation, or a new link for one. The link is in this answer only: the server keeps its hash, so the
 * inviter can share it by hand (chat, a message) when email is not set up.
 */
export const InvitationWithLink = Schema.Struct({
  ...Invitation.fields,
  link: Schema.String,
  /** False when nobody was emailed: this server's email goes only to its log, or this is a new link. */
  emailed: Schema.Boolean
})

export const CreateInvitation = Schema.Struct({ email: Email, role: MemberRole }).annotations({
  examples: [{ email: "ana@acme.example", role: "EDITOR" } as never]
})

/** What the holder of an invitation link may see before signing in. */
export const InvitationPreview = Schema.Struct({
  organizationName: Schema.String,
  /** The organisation's logo when Tapline hosts it (same origin as the sign-in page); null otherwise. */
  organizationLogoUrl: Schema.NullOr(Schema.String),
  email: Schema.String,
  role: MemberRole,
  expiresAt: Schema.DateTimeUtc
})

export class InvitationsApi extends HttpApiGroup.make("invitations")
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/invitations`
      .setPayload(CreateInvitation)
      .addSuccess(InvitationWithLink, { status: 201 })
      .middleware(Authentication)
      .annotate(
        OpenApi.Description,
        "Emails a single-use link valid for 7 days, and answers with it once. Inviting the same email again " +
          "replaces the open invitation. OWNER only."
      )
  )
  .add(
    HttpApiEndpoint.post("newLink")`/api/v1/organizations/${organizationId}/invitations/${invitationId}/link`
      .addSuccess(InvitationWithLink)
      .middleware(Authentication)
      .annotate(
        OpenApi.Description,
        "A new link for an open invitation, valid for 7 days from now and not emailed; the previous link stops " +
          "working. OWNER only."
      )
  )
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/invitations`
      .addSuccess(Schema.Array(Invitation))
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Open invitations (neither accepted, revoked nor expired). OWNER only.")
  )
  .add(
    HttpApiEndpoint.del("revoke")`/api/v1/organizations/${organizationId}/invitations/${invitationId}`
      .addSuccess(NoContent)
      .middleware(Authentication)
  )
  .add(
    HttpApiEndpoint.get("preview")`/api/v1/invitations/${invitationToken}`
      .addSuccess(InvitationPreview)
      .annotate(OpenApi.Description, "The invitation behind a link, for the sign-in page to show.")
  )
  .add(
    HttpApiEndpoint.post("accept")`/api/v1/invitations/${invitationToken}/accept`
      .addSuccess(Schema.Struct({ organizationId: OrganizationId, role: MemberRole }))
      .middleware(Authentication)
      .annotate(
        OpenApi.Description,
        "Joins the organisation. The signed-in user's email must be the invited one; a link works once."
      )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .addError(DependencyUnavailable)
  .addError(TooManyRequests)
  .annotate(OpenApi.Title, "Invitations")
  .annotate(OpenApi.Description, "Invitations by email to join an organisation with a role.") {}
