import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { ApiKeys } from "../Auth/ApiKeys.js"
import { withRole } from "../Auth/Authorization.js"
import { Members } from "./Members.js"

export const MembersHandlers = HttpApiBuilder.group(TaplineApi, "members", (handlers) =>
  Effect.gen(function* () {
    const members = yield* Members
    return handlers
      .handle(
        "list",
        withRole("VIEWER", ({ path, urlParams }) => members.list(path.organizationId, urlParams))
      )
      .handle(
        "add",
        withRole("OWNER", ({ path, payload }) => members.add(path.organizationId, payload))
      )
      .handle(
        "update",
        withRole("OWNER", ({ path, payload }) =>
          members.setRole(path.organizationId, path.userId, payload.role)
        )
      )
      .handle(
        "remove",
        withRole("OWNER", ({ path }) => members.remove(path.organizationId, path.userId))
      )
  })
)

export const ApiKeysHandlers = HttpApiBuilder.group(TaplineApi, "apiKeys", (handlers) =>
  Effect.gen(function* () {
    const keys = yield* ApiKeys
    return handlers
      .handle(
        "list",
        withRole("OWNER", ({ path, urlParams }) => keys.list(path.organizationId, urlParams))
      )
      .handle(
        "create",
        withRole("OWNER", ({ path, payload }, principal) =>
          keys.create(principal, path.organizationId, payload)
        )
      )
      .handle(
        "revoke",
        withRole("OWNER", ({ path }) => keys.revoke(path.organizationId, path.apiKeyId))
      )
  })
)
