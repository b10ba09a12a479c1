import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"

/*
 * Request bodies no endpoint can take, refused before the API decodes them: the decoder itself answered 500
 * to both. A multipart body without a boundary made the multipart parser throw; JSON nested a few thousand
 * levels deep parsed, then overflowed the stack while the decode error was being formatted. No endpoint
 * takes multipart (uploads go to Storage by presigned URL), and no payload of ours nests beyond a handful.
 */

export const MAX_JSON_DEPTH = 64

const STRING = 34 // "
const BACKSLASH = 92
const OPEN = new Set([91, 123]) // [ {
const CLOSE = new Set([93, 125]) // ] }

/** The deepest nesting of arrays and objects in JSON text, ignoring brackets inside strings. */
export const jsonDepth = (text: string): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === STRING) inString = false
    } else if (c === STRING) inString = true
    else if (OPEN.has(c)) {
      depth++
      if (depth > deepest) deepest = depth
    } else if (CLOSE.has(c)) depth--
  }
  return deepest
}

const refuse = (status: number, tag: string, message: string) =>
  HttpServerResponse.unsafeJson({ _tag: tag, message }, { status })

const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"])

export const guardBodies = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!WITH_BODY.has(request.method)) return yield* app
    // A signed storage upload is a file, not an API payload: it streams to Storage as it is (StorageLinks.ts).
    if (request.url.startsWith("/storage/")) return yield* app
    const type = (request.headers["content-type"] ?? "").toLowerCase()
    if (type.startsWith("multipart/")) {
      return refuse(415, "UnsupportedMediaType", "multipart bodies are not accepted; send application/json")
    }
    if (type.includes("json")) {
      // The text is read once and kept: the endpoint's decoder reads the same string.
      const text = yield* Effect.either(request.text)
      if (text._tag === "Left") return refuse(400, "InvalidRequest", "the request body could not be read")
      if (jsonDepth(text.right) > MAX_JSON_DEPTH) {
        return refuse(
          400,
          "InvalidRequest",
          `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted`
        )
      }
    }
    return yield* app
  })
