import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { NotFound } from "./Errors.js"

/** `tap.created.json`: a message type and `.json`. Anything else is a 404, not a 400: it names no schema. */
const file = HttpApiSchema.param("file", Schema.String)

/**
 * The JSON Schema of each message Tapline publishes to or consumes from a broker (the CloudEvent's `data`),
 * which each CloudEvent names in its `dataschema`. Public: receivers fetch them without a key.
 */
export class SchemasApi extends HttpApiGroup.make("schemas")
  .add(
    HttpApiEndpoint.get("get")`/api/v1/schemas/${file}`
      .addSuccess(
        Schema.Unknown.pipe(
          HttpApiSchema.withEncoding({ kind: "Json", contentType: "application/schema+json" })
        )
      )
      .addError(NotFound)
      .annotate(
        OpenApi.Description,
        "The JSON Schema (draft-07) of a message type's `data`, e.g. `/api/v1/schemas/tap.created.json`; " +
          "404 for a type Tapline has no schema of. Cacheable for an hour."
      )
  )
  .annotate(OpenApi.Title, "Schemas")
  .annotate(OpenApi.Description, "JSON Schemas of the CloudEvents published to and consumed from brokers.") {}
