import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { TaplineApi } from "@tapline/domain"
import { Effect, Stream } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { fileName, toMarkdown, toPdf } from "./RecapFiles.js"
import { type RecapStreamMessage, Recaps } from "./Recaps.js"

const encoder = new TextEncoder()

const toEvent = (message: RecapStreamMessage) =>
  encoder.encode(`event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`)

const download = (name: string) => ({
  "content-disposition": `attachment; filename="${name}"`,
  "cache-control": "no-store"
})

/** VIEWERs read recaps; EDITORs generate (which spends the AI budget) and edit them. */
export const RecapsHandlers = HttpApiBuilder.group(TaplineApi, "recaps", (handlers) =>
  Effect.gen(function* () {
    const recaps = yield* Recaps
    return handlers
      .handle(
        "create",
        withRole("EDITOR", ({ path, payload }) => recaps.create(path.organizationId, payload))
      )
      .handle(
        "stream",
        withRole("EDITOR", ({ path, payload }) =>
          Effect.map(recaps.stream(path.organizationId, payload), (messages) =>
            HttpServerResponse.stream(Stream.map(messages, toEvent), {
              contentType: "text/event-stream",
              headers: { "cache-control": "no-store", "x-accel-buffering": "no" }
            })
          )
        )
      )
      .handle(
        "list",
        withRole("VIEWER", ({ path, urlParams }) => recaps.list(path.organizationId, urlParams))
      )
      .handle(
        "get",
        withRole("VIEWER", ({ path }) => recaps.get(path.organizationId, path.recapId))
      )
      .handle(
        "update",
        withRole("EDITOR", ({ path, payload }) =>
          recaps.update(path.organizationId, path.recapId, payload.text)
        )
      )
      .handle(
        "markdown",
        withRole("VIEWER", ({ path }) =>
          Effect.map(recaps.get(path.organizationId, path.recapId), (recap) =>
            HttpServerResponse.text(toMarkdown(recap), {
              contentType: "text/markdown; charset=utf-8",
              headers: download(fileName(recap, "md"))
            })
          )
        )
      )
      .handle(
        "pdf",
        withRole("VIEWER", ({ path }) =>
          Effect.gen(function* () {
            const recap = yield* recaps.get(path.organizationId, path.recapId)
            const pdf = yield* toPdf(recap)
            return HttpServerResponse.uint8Array(pdf, {
              contentType: "application/pdf",
              headers: download(fileName(recap, "pdf"))
            })
          })
        )
      )
  })
)
