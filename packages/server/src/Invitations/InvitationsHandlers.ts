import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { requireUser, withRole } from "../Auth/Authorization.js"
import { AuthRateLimit } from "../Auth/AuthRateLimit.js"
import { Invitations } from "./Invitations.js"

export const InvitationsHandlers = HttpApiBuilder.group(TaplineApi, "invitations", (handlers) =>
  Effect.gen(function* () {
    const invitations = yield* Invitations
    const limits = yield* AuthRateLimit
    return handlers
      .handle(
        "create",
        withRole("OWNER", ({ path, payload }, principal) =>
          invitations.create(principal, path.organizationId, payload)
        )
      )
      .handle(
        "newLink",
        withRole("OWNER", ({ path }) => invitations.newLink(path.organizationId, path.invitationId))
      )
      .handle(
        "list",
        withRole("OWNER", ({ path }) => invitations.listOpen(path.organizationId))
      )
      .handle(
        "revoke",
        withRole("OWNER", ({ path }) => invitations.revoke(path.organizationId, path.invitationId))
      )
      .handle("preview", ({ path }) => invitations.preview(path.token))
      .handle("accept", ({ path }) =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          // Tokens are unguessable; the limit stops a signed-in account trying them in bulk.
          yield* limits.attempt("invitation-accept")
          return yield* invitations.accept(userId, path.token)
        })
      )
  })
)
