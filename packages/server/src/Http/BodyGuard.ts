import type { IncomingMessage, ServerResponse } from "node:http"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { uploadRules } from "@tapline/domain"
import { Data, Effect, Stream } from "effect"
import { AppConfig, type AppConfigShape } from "../Config/AppConfig.js"

/*
 * Request bodies are bounded while they stream in, before anything parses them. A 256 MB JSON body was read
 * whole (the JSON depth scan below asked for the text; the platform's own MaxBodySize is not set by the Node
 * server, and when set it destroys the socket, so the caller never sees why). Past the route's limit the
 * answer is 413 at once and nothing more of the body is read (`capRest`).
 *
 * Also refused before the API decodes them, because the decoder itself answered 500 to both: a multipart
 * body without a boundary made the multipart parser throw; JSON nested a few thousand levels deep parsed,
 * then overflowed the stack while the decode error was being formatted. No endpoint takes multipart (uploads
 * go to Storage by presigned URL), and no payload of ours nests beyond a handful.
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

export interface BodyLimits {
  /** Every route's (HTTP_MAX_BODY). */
  readonly standard: number
  /** A band import sent in the request: the same file may come by upload, so the upload's limit. */
  readonly bandImport: number
}

export const bodyLimits = (config: AppConfigShape): BodyLimits => ({
  standard: config.server.maxBody,
  bandImport: Math.max(config.server.maxBody, uploadRules["band-import"].maxBytes)
})

const BAND_IMPORT = /^\/api\/v1\/organizations\/[^/]+\/events\/[^/]+\/bands\/import$/

/** Providers' callbacks (SmsCallbacks/): a form or a small JSON message, refused past this unread. */
export const CALLBACK_BODY_BYTES = 64 * 1024
const CALLBACKS = /^\/hooks\//

/**
 * The most bytes the route's body may have; undefined under /storage/, whose signed uploads stream to
 * Storage and are bounded there, per ticket (StorageLinks.ts).
 */
export const limitFor = (limits: BodyLimits, url: string): number | undefined => {
  const path = url.split("?", 1)[0]!
  if (path.startsWith("/storage/")) return undefined
  if (CALLBACKS.test(path)) return Math.min(CALLBACK_BODY_BYTES, limits.standard)
  return BAND_IMPORT.test(path) ? limits.bandImport : limits.standard
}

const hasBody = (headers: IncomingMessage["headers"]) =>
  headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? 0) > 0

const tooLargeMessage = (limit: number) => `the request body is larger than this route takes (${limit} bytes)`

/**
 * What is read and thrown away of a refused body before its connection is cut: enough for the bytes already in
 * flight when the client reads the answer. Reading a megabyte per refusal cost a whole core at ~200 refusals/s
 * (bench:bodies, the flood phase), most of it the kernel's copy and the collector.
 */
export const DISCARD_CAP = 64 * 1024

/**
 * Once the answer is out, an unread rest of the body stays unread. Node does not resume a request nobody
 * reads, so it stops taking from the socket and the keep-alive timeout closes the connection; if anything
 * flows anyway it is thrown away, and past `cap` bytes the connection is cut. Not `Connection: close`: it
 * resets a connection the client is still writing to, and the client (node:http, curl) then fails on the
 * reset without reading the 413 (seen in bench:bodies).
 */
export const capRest = (request: IncomingMessage, response: ServerResponse, cap = DISCARD_CAP) => {
  if (!hasBody(request.headers)) return
  response.once("finish", () => {
    if (request.complete) return
    let discarded = 0
    request.on("data", (chunk: Buffer) => {
      discarded += chunk.length
      if (discarded > cap) request.socket.destroy()
    })
  })
}

/**
 * Node's side, before the framework sees the request: a body declared larger than the route takes is
 * refused at once, before a byte of it is read (and before a `100 Continue` invites it).
 * True when the request was answered here.
 */
export const screen = (limits: BodyLimits, request: IncomingMessage, response: ServerResponse): boolean => {
  const limit = limitFor(limits, request.url ?? "/")
  if (limit === undefined) return false
  if (Number(request.headers["content-length"] ?? 0) > limit) {
    const body = JSON.stringify({ _tag: "PayloadTooLarge", message: tooLargeMessage(limit) })
    response.writeHead(413, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store"
    })
    capRest(request, response)
    response.end(body)
    return true
  }
  return false
}

class BodyRefused extends Data.TaggedError("BodyRefused")<{
  readonly status: number
  readonly tag: string
  readonly message: string
}> {}

const refusal = (refused: BodyRefused) =>
  HttpServerResponse.unsafeJson({ _tag: refused.tag, message: refused.message }, { status: refused.status })

const unreadable = new BodyRefused({
  status: 400,
  tag: "InvalidRequest",
  message: "the request body could not be read"
})

/**
 * At most `limit` bytes of the body. Past it the stream is paused, not destroyed: destroying the request
 * destroys the socket before the 413 is written. Paused, Node stops reading the socket once its small buffer
 * is full; after the 413 it is not resumed (`capRest`).
 */
const readAtMost = (source: IncomingMessage, limit: number) =>
  Effect.async<Buffer, BodyRefused>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const stop = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
      source.off("close", onClose)
      source.pause()
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) return void chunks.push(chunk)
      stop()
      resume(
        Effect.fail(new BodyRefused({ status: 413, tag: "PayloadTooLarge", message: tooLargeMessage(limit) }))
      )
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(Buffer.concat(chunks, size)))
    }
    const onError = () => {
      stop()
      resume(Effect.fail(unreadable))
    }
    const onClose = () => {
      if (!source.complete) onError()
    }
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", onError)
    source.once("close", onClose)
    return Effect.sync(stop)
  })

const tooDeep = new BodyRefused({
  status: 400,
  tag: "InvalidRequest",
  message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted`
})

const once = <A, E>(effect: Effect.Effect<A, E>) => Effect.runSync(Effect.cached(effect))

/**
 * The request with its body read at most once, bounded: every way the API reads a body (text, JSON, form,
 * bytes) goes through it. A refusal is a `BodyRefused`, which the endpoint's decoder turns into a defect.
 */
const bounded = (request: HttpServerRequest.HttpServerRequest, source: IncomingMessage, limit: number) => {
  const bytes = once(readAtMost(source, limit))
  const text = once(Effect.map(bytes, (buffer) => buffer.toString("utf8")))
  const jsonText = once(
    Effect.filterOrFail(
      text,
      (text) => jsonDepth(text) <= MAX_JSON_DEPTH,
      () => tooDeep
    )
  )
  const decodeError = (cause: unknown) =>
    new HttpServerError.RequestError({ request, reason: "Decode", cause })
  const json = Effect.flatMap(jsonText, (text) =>
    Effect.try({ try: () => (text === "" ? null : (JSON.parse(text) as unknown)), catch: decodeError })
  )
  const urlParamsBody = Effect.flatMap(text, (text) =>
    Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: decodeError })
  )
  const arrayBuffer = Effect.map(bytes, (buffer) => new Uint8Array(buffer).buffer)
  const wrap = (request: HttpServerRequest.HttpServerRequest): HttpServerRequest.HttpServerRequest =>
    // Everything else (headers, url, source…) is the request's own.
    Object.create(request, {
      text: { value: text },
      json: { value: json },
      urlParamsBody: { value: urlParamsBody },
      arrayBuffer: { value: arrayBuffer },
      stream: { value: Stream.fromEffect(bytes) },
      // A router that rewrites the url keeps the bounded body.
      modify: { value: (options: Parameters<typeof request.modify>[0]) => wrap(request.modify(options)) }
    })
  return { request: wrap(request), text, jsonText }
}

const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"])

/**
 * Bodies are read through a bounded request. Where the limit is the standard one the body is read here,
 * before authentication, so an anonymous caller is refused as one who signed in is. A larger limit (a band
 * import) is spent only once the endpoint decodes the payload, after authentication: an anonymous caller
 * cannot make the server buffer 64 MB (what it sent stays unread, `capRest`).
 */
export const guardBodies =
  (limits: BodyLimits) =>
  <E, R>(app: HttpApp.Default<E, R>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const limit = limitFor(limits, request.url)
      if (limit === undefined) return yield* app
      const source = NodeHttpServerRequest.toIncomingMessage(request)
      // Whatever the answer (a refusal, a 401 before a band import is read), an unread rest is not buffered.
      capRest(source, NodeHttpServerRequest.toServerResponse(request))
      if (!WITH_BODY.has(request.method)) return yield* app
      const type = (request.headers["content-type"] ?? "").toLowerCase()
      if (type.startsWith("multipart/")) {
        return HttpServerResponse.unsafeJson(
          {
            _tag: "UnsupportedMediaType",
            message: "multipart bodies are not accepted; send application/json"
          },
          { status: 415 }
        )
      }
      const body = bounded(request, source, limit)
      if (limit <= limits.standard) {
        const read = yield* Effect.either(type.includes("json") ? body.jsonText : body.text)
        if (read._tag === "Left") return refusal(read.left)
      }
      return yield* app.pipe(
        Effect.provideService(HttpServerRequest.HttpServerRequest, body.request),
        Effect.catchAllDefect((defect) =>
          defect instanceof BodyRefused ? Effect.succeed(refusal(defect)) : Effect.die(defect)
        )
      )
    })

/** The guard with the configured limits, as an API-level middleware (it runs before authentication). */
export const middleware = HttpApiBuilder.middleware(
  Effect.map(AppConfig, (config) => guardBodies(bodyLimits(config)))
)
