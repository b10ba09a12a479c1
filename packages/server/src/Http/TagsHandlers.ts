import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { decodeCursor } from "../Admin/Pagination.js"
import { requireRole } from "../Auth/Authorization.js"
import { Tags } from "../Tags/Tags.js"

export const TagsHandlers = HttpApiBuilder.group(TaplineApi, "tags", (handlers) =>
  Effect.gen(function* () {
    const tags = yield* Tags
    return handlers
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const after = yield* decodeCursor(urlParams.cursor)
          return yield* tags.list(path.organizationId, { after, limit: urlParams.limit })
        })
      )
      .handle("create", ({ path, payload }) =>
        requireRole(path.organizationId, "EDITOR").pipe(
          Effect.zipRight(tags.create(path.organizationId, payload))
        )
      )
      .handle("update", ({ path, payload }) =>
        requireRole(path.organizationId, "EDITOR").pipe(
          Effect.zipRight(tags.update(path.organizationId, path.tagId, payload))
        )
      )
      .handle("delete", ({ path }) =>
        requireRole(path.organizationId, "EDITOR").pipe(
          Effect.zipRight(tags.remove(path.organizationId, path.tagId))
        )
      )
  })
)
