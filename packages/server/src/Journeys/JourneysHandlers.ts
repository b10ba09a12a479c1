import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Journeys } from "./Journeys.js"

export const JourneysHandlers = HttpApiBuilder.group(TaplineApi, "journeys", (handlers) =>
  Effect.gen(function* () {
    const journeys = yield* Journeys
    return (
      handlers
        // Which channels can send (provider names only, nothing secret): anyone who reads journeys.
        .handle(
          "channels",
          withRole("VIEWER", () => journeys.channels())
        )
        .handle(
          "list",
          withRole("VIEWER", ({ path, urlParams }) => journeys.list(path.organizationId, urlParams))
        )
        .handle(
          "create",
          withRole("EDITOR", ({ path, payload }) => journeys.create(path.organizationId, payload))
        )
        .handle(
          "get",
          withRole("VIEWER", ({ path }) => journeys.get(path.organizationId, path.journeyId))
        )
        .handle(
          "update",
          withRole("EDITOR", ({ path, payload }) =>
            journeys.update(path.organizationId, path.journeyId, payload)
          )
        )
        .handle(
          "delete",
          withRole("EDITOR", ({ path }) => journeys.remove(path.organizationId, path.journeyId))
        )
        .handle(
          "preview",
          withRole("EDITOR", ({ path, payload }) =>
            journeys.preview(path.organizationId, path.journeyId, payload)
          )
        )
        .handle(
          "test",
          withRole("EDITOR", ({ path, payload }) =>
            journeys.test(path.organizationId, path.journeyId, payload.to)
          )
        )
        // The delivery log names bands that were written to: personal data, as registrants are (EDITOR).
        .handle(
          "messages",
          withRole("EDITOR", ({ path, urlParams }) =>
            journeys.messages(path.organizationId, path.journeyId, urlParams)
          )
        )
        .handle(
          "redrive",
          withRole("EDITOR", ({ path }) =>
            journeys.redrive(path.organizationId, path.journeyId, path.messageId)
          )
        )
    )
  })
)
