import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { ReportKeysDocument } from "@tapline/domain"
import { Effect } from "effect"
import { ReportKeys } from "./ReportKeys.js"

export const PATH = "/.well-known/tapline/report-keys.json"

/** The public half of every signing key, retired ones included, so any report Tapline signed can be checked. */
export const keysDocument = (keys: typeof ReportKeys.Service): ReportKeysDocument => ({
  keys: keys.all.map(({ keyId, publicKey, status }) => ({ keyId, algorithm: "Ed25519", publicKey, status }))
})

/** Public and cacheable (an hour): it changes only when the keys rotate, and holds nothing secret. */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const keys = yield* ReportKeys
    const body = keysDocument(keys)
    yield* router.get(
      PATH,
      Effect.succeed(
        HttpServerResponse.unsafeJson(body, {
          headers: { "cache-control": "public, max-age=3600", "access-control-allow-origin": "*" }
        })
      )
    )
  })
)
