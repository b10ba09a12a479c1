import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { RegistrationSources } from "./RegistrationSources.js"

/** Registration sources are the OWNERs': their URLs carry credentials and their messages change bands. */
export const RegistrationSourcesHandlers = HttpApiBuilder.group(
  TaplineApi,
  "registrationSources",
  (handlers) =>
    Effect.gen(function* () {
      const sources = yield* RegistrationSources
      return handlers
        .handle(
          "create",
          withRole("OWNER", ({ path, payload }) => sources.create(path.organizationId, payload))
        )
        .handle(
          "list",
          withRole("OWNER", ({ path }) => sources.list(path.organizationId))
        )
        .handle(
          "get",
          withRole("OWNER", ({ path }) => sources.get(path.organizationId, path.sourceId))
        )
        .handle(
          "update",
          withRole("OWNER", ({ path, payload }) =>
            sources.update(path.organizationId, path.sourceId, payload)
          )
        )
        .handle(
          "remove",
          withRole("OWNER", ({ path }) => sources.remove(path.organizationId, path.sourceId))
        )
        .handle(
          "deadLetters",
          withRole("OWNER", ({ path, urlParams }) =>
            sources.deadLetters(path.organizationId, path.sourceId, urlParams)
          )
        )
    })
)
