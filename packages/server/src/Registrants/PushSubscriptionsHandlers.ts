import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { PushSubscriptions } from "./PushSubscriptions.js"

/** A registrant's devices are personal data, as the registrant is: EDITOR reads and writes them. */
export const PushSubscriptionsHandlers = HttpApiBuilder.group(TaplineApi, "pushSubscriptions", (handlers) =>
  Effect.gen(function* () {
    const devices = yield* PushSubscriptions
    return handlers
      .handle(
        "list",
        withRole("EDITOR", ({ path }) => devices.list(path.organizationId, path.registrantId))
      )
      .handle(
        "create",
        withRole("EDITOR", ({ path, payload }) =>
          devices.add(path.organizationId, path.registrantId, payload)
        )
      )
      .handle(
        "delete",
        withRole("EDITOR", ({ path }) =>
          devices.remove(path.organizationId, path.registrantId, path.subscriptionId)
        )
      )
  })
)
