import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Bands } from "./Bands.js"

export const BandsHandlers = HttpApiBuilder.group(TaplineApi, "bands", (handlers) =>
  Effect.gen(function* () {
    const bands = yield* Bands
    return handlers
      .handle(
        "import",
        withRole("EDITOR", ({ path, payload }) =>
          bands.importBands(path.organizationId, path.eventId, payload)
        )
      )
      .handle(
        "importUpload",
        withRole("EDITOR", ({ path, payload }) =>
          bands.importUpload(path.organizationId, path.eventId, payload.uploadId)
        )
      )
      .handle(
        "list",
        withRole("VIEWER", ({ path, urlParams }) => bands.list(path.organizationId, urlParams))
      )
      .handle(
        "get",
        withRole("VIEWER", ({ path }) => bands.get(path.organizationId, path.bandId))
      )
      .handle(
        "update",
        withRole("EDITOR", ({ path, payload }) => bands.update(path.organizationId, path.bandId, payload))
      )
      .handle("delete", (request) =>
        // Moving to the trash is an EDITOR's; deleting for good (`?purge=true`) an OWNER's.
        request.urlParams.purge
          ? withRole("OWNER", ({ path }: typeof request) => bands.purge(path.organizationId, path.bandId))(
              request
            )
          : withRole("EDITOR", ({ path }: typeof request) => bands.remove(path.organizationId, path.bandId))(
              request
            )
      )
      .handle(
        "restore",
        withRole("EDITOR", ({ path }) => bands.restore(path.organizationId, path.bandId))
      )
      .handle(
        "reassign",
        withRole("EDITOR", ({ path, payload }) =>
          bands.reassign(path.organizationId, path.bandId, payload.eventId)
        )
      )
      .handle(
        "bulkReassign",
        withRole("EDITOR", ({ path, payload }) => bands.bulkReassign(path.organizationId, payload))
      )
      .handle(
        "resolveFlag",
        withRole("EDITOR", ({ path }) => bands.resolveFlag(path.organizationId, path.bandId))
      )
      .handle(
        "setTags",
        withRole("EDITOR", ({ path, payload }) =>
          bands.setTags(path.organizationId, path.bandId, payload.tagIds)
        )
      )
      .handle(
        "activity",
        withRole("VIEWER", ({ path, urlParams }) =>
          bands.activity(path.organizationId, path.bandId, urlParams)
        )
      )
  })
)
