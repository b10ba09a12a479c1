import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { TaplineApi } from "@tapline/domain"
import { Effect, Stream } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Live, type LiveMessage, resumeFrom } from "./Live.js"

const encoder = new TextEncoder()

/** A tick's messages as server-sent events, written as one chunk. */
const toEvents = (messages: ReadonlyArray<LiveMessage>) =>
  encoder.encode(
    messages
      .map((message) => {
        const id = "id" in message ? `id: ${message.id}\n` : ""
        return `${id}event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`
      })
      .join("")
  )

export const LiveHandlers = HttpApiBuilder.group(TaplineApi, "live", (handlers) =>
  Effect.gen(function* () {
    const live = yield* Live
    return handlers
      .handle(
        "summary",
        withRole("VIEWER", ({ path }) => live.summary(path.organizationId, path.eventId))
      )
      .handle(
        "stream",
        withRole("VIEWER", ({ path, request }, principal) =>
          Effect.map(
            live.stream(
              principal,
              path.organizationId,
              path.eventId,
              resumeFrom(request.headers["last-event-id"])
            ),
            (ticks) =>
              HttpServerResponse.stream(Stream.map(ticks, toEvents), {
                contentType: "text/event-stream",
                headers: { "cache-control": "no-store", "x-accel-buffering": "no" }
              })
          )
        )
      )
  })
)
