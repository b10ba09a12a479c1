import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Destinations } from "./Destinations.js"

/** Destinations are the organisation's OWNERs' to see and manage: they carry credentials and lead outside. */
export const DestinationsHandlers = HttpApiBuilder.group(TaplineApi, "destinations", (handlers) =>
  Effect.gen(function* () {
    const destinations = yield* Destinations
    return handlers
      .handle(
        "create",
        withRole("OWNER", ({ path, payload }) => destinations.create(path.organizationId, payload))
      )
      .handle(
        "list",
        withRole("OWNER", ({ path }) => destinations.list(path.organizationId))
      )
      .handle(
        "get",
        withRole("OWNER", ({ path }) => destinations.get(path.organizationId, path.destinationId))
      )
      .handle(
        "update",
        withRole("OWNER", ({ path, payload }) =>
          destinations.update(path.organizationId, path.destinationId, payload)
        )
      )
      .handle(
        "remove",
        withRole("OWNER", ({ path }) => destinations.remove(path.organizationId, path.destinationId))
      )
      .handle(
        "test",
        withRole("OWNER", ({ path }) => destinations.test(path.organizationId, path.destinationId))
      )
      .handle(
        "deliveries",
        withRole("OWNER", ({ path, urlParams }) =>
          destinations.deliveries(path.organizationId, path.destinationId, urlParams)
        )
      )
      .handle(
        "redrive",
        withRole("OWNER", ({ path }) => destinations.redrive(path.organizationId, path.destinationId))
      )
  })
)
