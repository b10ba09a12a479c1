import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { iso } from "../Exports/CsvExports.js"
import { Exports } from "../Exports/Exports.js"
import { Audit } from "./Audit.js"

export const AuditHandlers = HttpApiBuilder.group(TaplineApi, "audit", (handlers) =>
  Effect.gen(function* () {
    const audit = yield* Audit
    const exports = yield* Exports
    return handlers
      .handle(
        "list",
        withRole("OWNER", ({ path, urlParams }) => audit.list(path.organizationId, urlParams))
      )
      .handle(
        "export",
        withRole("OWNER", ({ path, urlParams }) => {
          const request = {
            kind: "audit" as const,
            ...urlParams,
            from: iso(urlParams.from),
            to: iso(urlParams.to)
          }
          return Effect.succeed(
            HttpServerResponse.stream(exports.csv(path.organizationId, request), {
              contentType: "text/csv; charset=utf-8",
              headers: { "content-disposition": `attachment; filename="audit-${path.organizationId}.csv"` }
            })
          )
        })
      )
  })
)
