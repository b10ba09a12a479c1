import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { requireRole } from "../Auth/Authorization.js"
import { Quotas } from "../Quotas/Quotas.js"
import { Uploads } from "./Uploads.js"

export const UploadsHandlers = HttpApiBuilder.group(TaplineApi, "uploads", (handlers) =>
  Effect.gen(function* () {
    const uploads = yield* Uploads
    const quotas = yield* Quotas
    // A logo changes the organisation's branding (OWNER); an import file is an EDITOR's. Tickets are counted
    // once the caller may have one, so a refused caller spends nothing of the organisation's quota.
    return handlers.handle("create", ({ path, payload }) =>
      Effect.flatMap(
        requireRole(path.organizationId, payload.purpose === "logo" ? "OWNER" : "EDITOR"),
        (principal) =>
          Effect.zipRight(
            quotas.take("uploadTickets", path.organizationId),
            uploads.create(principal, path.organizationId, payload)
          )
      )
    )
  })
)
