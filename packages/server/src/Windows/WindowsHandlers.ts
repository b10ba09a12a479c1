import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Windows } from "./Windows.js"

export const WindowsHandlers = HttpApiBuilder.group(TaplineApi, "windows", (handlers) =>
  Effect.gen(function* () {
    const windows = yield* Windows
    return handlers
      .handle(
        "list",
        withRole("VIEWER", ({ path, urlParams }) =>
          windows.list(path.organizationId, path.eventId, urlParams)
        )
      )
      .handle(
        "create",
        withRole("EDITOR", ({ path, payload }) => windows.create(path.organizationId, path.eventId, payload))
      )
      .handle(
        "replace",
        withRole("EDITOR", ({ path, payload }) =>
          windows.replace(path.organizationId, path.eventId, payload.windows)
        )
      )
      .handle(
        "update",
        withRole("EDITOR", ({ path: { eventId, organizationId, windowId }, payload }) =>
          windows.update(organizationId, eventId, windowId, payload)
        )
      )
      .handle(
        "delete",
        withRole("EDITOR", ({ path: { eventId, organizationId, windowId } }) =>
          windows.remove(organizationId, eventId, windowId)
        )
      )
      .handle(
        "activate",
        withRole("EDITOR", ({ path: { eventId, organizationId, windowId } }) =>
          windows.activate(organizationId, eventId, windowId)
        )
      )
  })
)
