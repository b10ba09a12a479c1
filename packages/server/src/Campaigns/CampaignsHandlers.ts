import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Campaigns } from "./Campaigns.js"

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
      .handle("delete", (request) =>
        // Moving to the trash is an EDITOR's; deleting for good (`?purge=true`) an OWNER's.
        request.urlParams.purge
          ? withRole("OWNER", ({ path }: typeof request) =>
              campaigns.purge(path.organizationId, path.campaignId)
            )(request)
          : withRole("EDITOR", ({ path }: typeof request) =>
              campaigns.remove(path.organizationId, path.campaignId)
            )(request)
      )
      .handle(
        "restore",
        withRole("EDITOR", ({ path: { campaignId, organizationId } }) =>
          campaigns.restore(organizationId, campaignId)
        )
      )
  })
)
