import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { NotFound, stripControlCharacters, TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { jsonSchema } from "./Schemas.js"

/** How long a receiver or a proxy may keep a schema: they change only with a release. */
const CACHE_CONTROL = "public, max-age=3600"

/** A type as the 404 names it: the file asked for, bounded and printable, never a megabyte echoed back. */
const shown = (file: string) => {
  const printable = stripControlCharacters(file)
  return printable.length > 100 ? `${printable.slice(0, 99)}…` : printable
}

export const SchemasHandlers = HttpApiBuilder.group(TaplineApi, "schemas", (handlers) =>
  Effect.gen(function* () {
    const origin = publicOrigin(yield* AppConfig)
    return handlers.handle("get", ({ path }) => {
      const type = path.file.endsWith(".json") ? path.file.slice(0, -".json".length) : undefined
      const schema = type === undefined ? undefined : jsonSchema(origin, type)
      if (schema === undefined) return Effect.fail(new NotFound({ resource: "schema", id: shown(path.file) }))
      return Effect.succeed(
        HttpServerResponse.unsafeJson(schema, {
          contentType: "application/schema+json",
          headers: { "cache-control": CACHE_CONTROL }
        })
      )
    })
  })
)
