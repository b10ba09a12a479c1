import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Campaigns } from "../Campaigns/Campaigns.js"

export const CampaignsHandlers = HttpApiBuilder.group(TaplineApi, "campaigns", (handlers) =>
  Effect.gen(function* () {
    const campaigns = yield* Campaigns
    return handlers
      .handle(
        "list",
        withRole("VIEWER", ({ path, urlParams }) => campaigns.list(path.organizationId, urlParams))
      )
      .handle(
        "create",
        withRole("EDITOR", ({ path, payload }) => campaigns.create(path.organizationId, payload))
      )
      .handle(
        "get",
        withRole("VIEWER", ({ path: { campaignId, organizationId } }) =>
          campaigns.get(organizationId, campaignId)
        )
      )
      .handle(
        "update",
        withRole("EDITOR", ({ path: { campaignId, organizationId }, payload }) =>
          campaigns.update(organizationId, campaignId, payload)
        )
      )
      .handle(
        "delete",
        withRole("EDITOR", ({ path: { campaignId, organizationId } }) =>
          campaigns.remove(organizationId, campaignId)
        )
      )
      .handle(
        "restore",
        withRole("EDITOR", ({ path: { campaignId, organizationId } }) =>
          campaigns.restore(organizationId, campaignId)
        )
      )
  })
)
