import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Conflict, CreateExport, TaplineApi } from "@tapline/domain"
import { Effect, Schema } from "effect"
import { requireRole, withRole } from "../Auth/Authorization.js"
import { Exports, roleFor } from "../Exports/Exports.js"

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
          Effect.gen(function* () {
            const found = yield* exports.get(path.organizationId, path.exportId)
            yield* requireRole(path.organizationId, roleFor(found.kind))
            if (found.status !== "done") {
              return yield* new Conflict({ message: `the export is ${found.status}, not done` })
            }
            return HttpServerResponse.stream(exports.content(path.exportId), {
              contentType: "text/csv; charset=utf-8",
              headers: { "content-disposition": `attachment; filename="${found.kind}-${found.id}.csv"` }
            })
          })
        )
      )
  })
)
