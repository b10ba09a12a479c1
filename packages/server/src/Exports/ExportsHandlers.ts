import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { CreateExport, TaplineApi } from "@tapline/domain"
import { Effect, Schema } from "effect"
import { requireRole, withRole } from "../Auth/Authorization.js"
import { Exports, roleFor } from "./Exports.js"

export const ExportsHandlers = HttpApiBuilder.group(TaplineApi, "exports", (handlers) =>
  Effect.gen(function* () {
    const exports = yield* Exports
    return handlers
      .handle("create", ({ path, payload }) =>
        Effect.gen(function* () {
          const principal = yield* requireRole(path.organizationId, roleFor(payload.kind))
          // Stored as the client sent it (instants as ISO strings): the job reads it back as an ExportRequest.
          const encoded = Schema.encodeSync(CreateExport)(payload)
          return yield* exports.create(principal, path.organizationId, payload, encoded)
        })
      )
      .handle(
        "list",
        withRole("VIEWER", ({ path, urlParams }) => exports.list(path.organizationId, urlParams))
      )
      .handle(
        "get",
        withRole("VIEWER", ({ path }) => exports.get(path.organizationId, path.exportId))
      )
      .handle(
        "download",
        withRole("VIEWER", ({ path }) =>
          Effect.map(exports.download(path.organizationId, path.exportId), (url) =>
            HttpServerResponse.redirect(url, { status: 302, headers: { "cache-control": "no-store" } })
          )
        )
      )
  })
)
