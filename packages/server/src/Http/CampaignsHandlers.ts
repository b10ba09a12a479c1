import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { decodeCursor } from "../Admin/Pagination.js"
import { requireRole } from "../Auth/Authorization.js"
import { Campaigns } from "../Campaigns/Campaigns.js"

export const CampaignsHandlers = HttpApiBuilder.group(TaplineApi, "campaigns", (handlers) =>
  Effect.gen(function* () {
    const campaigns = yield* Campaigns
    return handlers
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const after = yield* decodeCursor(urlParams.cursor)
          const { deleted, limit, status } = urlParams
          return yield* campaigns.list(path.organizationId, { deleted, status, after, limit })
        })
      )
      .handle("create", ({ path, payload }) =>
        requireRole(path.organizationId, "EDITOR").pipe(
          Effect.zipRight(campaigns.create(path.organizationId, payload))
        )
      )
      .handle("get", ({ path }) =>
        requireRole(path.organizationId, "VIEWER").pipe(
          Effect.zipRight(campaigns.get(path.organizationId, path.campaignId))
        )
      )
      .handle("update", ({ path, payload }) =>
        requireRole(path.organizationId, "EDITOR").pipe(
          Effect.zipRight(campaigns.update(path.organizationId, path.campaignId, payload))
        )
      )
      .handle("delete", ({ path }) =>
        requireRole(path.organizationId, "EDITOR").pipe(
          Effect.zipRight(campaigns.remove(path.organizationId, path.campaignId))
        )
      )
      .handle("restore", ({ path }) =>
        requireRole(path.organizationId, "EDITOR").pipe(
          Effect.zipRight(campaigns.restore(path.organizationId, path.campaignId))
        )
      )
  })
)
