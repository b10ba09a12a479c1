import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { requireRole } from "../Auth/Authorization.js"
import { Uploads } from "../Uploads/Uploads.js"

export const UploadsHandlers = HttpApiBuilder.group(TaplineApi, "uploads", (handlers) =>
  Effect.gen(function* () {
    const uploads = yield* Uploads
    // A logo changes the organisation's branding (OWNER); an import file is an EDITOR's.
    return handlers.handle("create", ({ path, payload }) =>
      Effect.flatMap(
        requireRole(path.organizationId, payload.purpose === "logo" ? "OWNER" : "EDITOR"),
        (principal) => uploads.create(principal, path.organizationId, payload)
      )
    )
  })
)
