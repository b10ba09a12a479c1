import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Tags } from "./Tags.js"

export const TagsHandlers = HttpApiBuilder.group(TaplineApi, "tags", (handlers) =>
  Effect.gen(function* () {
    const tags = yield* Tags
    return handlers
      .handle(
        "list",
        withRole("VIEWER", ({ path, urlParams }) => tags.list(path.organizationId, urlParams))
      )
      .handle(
        "create",
        withRole("EDITOR", ({ path, payload }) => tags.create(path.organizationId, payload))
      )
      .handle(
        "update",
        withRole("EDITOR", ({ path, payload }) => tags.update(path.organizationId, path.tagId, payload))
      )
      .handle(
        "delete",
        withRole("EDITOR", ({ path }) => tags.remove(path.organizationId, path.tagId))
      )
  })
)
