import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { CurrentPrincipal, TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Organizations } from "./Organizations.js"

export const OrganizationsHandlers = HttpApiBuilder.group(TaplineApi, "organizations", (handlers) =>
  Effect.gen(function* () {
    const organizations = yield* Organizations
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.flatMap(CurrentPrincipal, (principal) => organizations.list(principal, urlParams))
      )
      .handle("create", ({ payload }) =>
        Effect.flatMap(CurrentPrincipal, (principal) => organizations.create(principal, payload))
      )
      .handle("slugAvailability", ({ urlParams }) => organizations.slugAvailability(urlParams.slug))
      .handle(
        "get",
        withRole("VIEWER", ({ path }) => organizations.get(path.organizationId))
      )
      .handle(
        "setLogo",
        withRole("OWNER", ({ path, payload }) => organizations.setLogo(path.organizationId, payload.uploadId))
      )
      .handle(
        "removeLogo",
        withRole("OWNER", ({ path }) => organizations.removeLogo(path.organizationId))
      )
      .handle(
        "update",
        withRole("OWNER", ({ path, payload }) => organizations.update(path.organizationId, payload))
      )
      .handle(
        "delete",
        withRole("OWNER", ({ path }) => organizations.remove(path.organizationId))
      )
  })
)
