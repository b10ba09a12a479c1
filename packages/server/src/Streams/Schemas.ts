import { JSONSchema, type Schema } from "effect"
import { schemaUrl } from "./CloudEvents.js"
import { outgoing } from "./Payloads.js"
import { BandRegistered, BandUnregistered } from "./Registrations.js"

/*
 * One JSON Schema (draft-07, as effect's JSONSchema.make writes it) per message type: the `data` of the
 * CloudEvent whose `dataschema` names it. Generated from the Effect Schemas the code renders and decodes
 * with, so the document cannot drift from the code. Served at /api/v1/schemas/{type}.json (SchemasHandlers).
 */

export const dataSchemas: Readonly<Record<string, Schema.Schema.AnyNoContext>> = {
  ...outgoing,
  "band.registered": BandRegistered,
  "band.unregistered": BandUnregistered
}

export const types: ReadonlyArray<string> = Object.keys(dataSchemas)

const generated = new Map(types.map((type) => [type, JSONSchema.make(dataSchemas[type]!)]))

/** A type's JSON Schema, `$id` its absolute URL on `origin`; undefined for a type Tapline has none of. */
export const jsonSchema = (origin: URL, type: string): object | undefined => {
  if (!Object.hasOwn(dataSchemas, type)) return undefined
  return { $id: schemaUrl(origin, type), ...generated.get(type) }
}
