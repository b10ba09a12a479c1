import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Events } from "./Events.js"

export const EventsHandlers = HttpApiBuilder.group(TaplineApi, "events", (handlers) =>
  Effect.gen(function* () {
    const events = yield* Events
    return handlers
      .handle(
        "list",
        withRole("VIEWER", ({ path, urlParams }) => events.list(path.organizationId, urlParams))
      )
      .handle(
        "create",
        withRole("EDITOR", ({ path, payload }) => events.create(path.organizationId, payload))
      )
      .handle(
        "get",
        withRole("VIEWER", ({ path: { eventId, organizationId } }) => events.get(organizationId, eventId))
      )
      .handle(
        "update",
        withRole("EDITOR", ({ path: { eventId, organizationId }, payload }) =>
          events.update(organizationId, eventId, payload)
        )
      )
      .handle(
        "changeStatus",
        withRole("EDITOR", ({ path: { eventId, organizationId }, payload }) =>
          events.changeStatus(organizationId, eventId, payload.status)
        )
      )
      .handle(
        "duplicate",
        withRole("EDITOR", ({ path: { eventId, organizationId }, payload }) =>
          events.duplicate(organizationId, eventId, payload)
        )
      )
      .handle("delete", (request) =>
        // Moving to the trash is an EDITOR's; deleting for good (`?purge=true`) an OWNER's.
        request.urlParams.purge
          ? withRole("OWNER", ({ path }: typeof request) => events.purge(path.organizationId, path.eventId))(
              request
            )
          : withRole("EDITOR", ({ path }: typeof request) =>
              events.remove(path.organizationId, path.eventId)
            )(request)
      )
      .handle(
        "restore",
        withRole("EDITOR", ({ path: { eventId, organizationId } }) => events.restore(organizationId, eventId))
      )
  })
)
