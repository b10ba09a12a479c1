import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Registrants } from "./Registrants.js"

/** Personal data: EDITOR reads and writes, only an OWNER erases (docs/decisions.md, "Registrants"). */
export const RegistrantsHandlers = HttpApiBuilder.group(TaplineApi, "registrants", (handlers) =>
  Effect.gen(function* () {
    const registrants = yield* Registrants
    return handlers
      .handle(
        "list",
        withRole("EDITOR", ({ path, urlParams }) => registrants.list(path.organizationId, urlParams))
      )
      .handle(
        "create",
        withRole("EDITOR", ({ path, payload }) => registrants.create(path.organizationId, payload))
      )
      .handle(
        "get",
        withRole("EDITOR", ({ path }) => registrants.get(path.organizationId, path.registrantId))
      )
      .handle(
        "update",
        withRole("EDITOR", ({ path, payload }) =>
          registrants.update(path.organizationId, path.registrantId, payload)
        )
      )
      .handle(
        "erase",
        withRole("OWNER", ({ path }) => registrants.erase(path.organizationId, path.registrantId))
      )
      .handle(
        "export",
        withRole("EDITOR", ({ path }) => registrants.export(path.organizationId, path.registrantId))
      )
  })
)
