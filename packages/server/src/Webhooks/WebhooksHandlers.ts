import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Webhooks } from "./Webhooks.js"

/** Webhooks and chat alerts are the organisation's OWNERs' to see and manage: URLs and secrets lead outside. */
export const WebhooksHandlers = HttpApiBuilder.group(TaplineApi, "webhooks", (handlers) =>
  Effect.gen(function* () {
    const webhooks = yield* Webhooks
    return handlers
      .handle(
        "create",
        withRole("OWNER", ({ path, payload }) => webhooks.create(path.organizationId, payload))
      )
      .handle(
        "list",
        withRole("OWNER", ({ path }) => webhooks.list(path.organizationId))
      )
      .handle(
        "get",
        withRole("OWNER", ({ path }) => webhooks.get(path.organizationId, path.endpointId))
      )
      .handle(
        "update",
        withRole("OWNER", ({ path, payload }) =>
          webhooks.update(path.organizationId, path.endpointId, payload)
        )
      )
      .handle(
        "remove",
        withRole("OWNER", ({ path }) => webhooks.remove(path.organizationId, path.endpointId))
      )
      .handle(
        "rotateSecret",
        withRole("OWNER", ({ path, payload }) =>
          webhooks.rotateSecret(path.organizationId, path.endpointId, payload)
        )
      )
      .handle(
        "test",
        withRole("OWNER", ({ path }) => webhooks.test(path.organizationId, path.endpointId))
      )
      .handle(
        "deliveries",
        withRole("OWNER", ({ path, urlParams }) =>
          webhooks.deliveries(path.organizationId, path.endpointId, urlParams)
        )
      )
      .handle(
        "attempts",
        withRole("OWNER", ({ path, urlParams }) =>
          webhooks.attempts(path.organizationId, path.endpointId, urlParams)
        )
      )
      .handle(
        "redeliver",
        withRole("OWNER", ({ path }) =>
          webhooks.redeliver(path.organizationId, path.endpointId, path.messageId)
        )
      )
  })
)
