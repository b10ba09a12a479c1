import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { AiBudgetExhausted, AiProviderName, AiUnavailable } from "./AiApi.js"
import { Authentication } from "./Authentication.js"
import { hasControlCharacters } from "./ControlCharacters.js"
import { DependencyUnavailable, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Instant } from "./Fields.js"
import { CampaignId, EventId } from "./Ids.js"
import { Page, PageParams } from "./Pagination.js"
import { organizationId } from "./Params.js"

/*
 * AI recaps (issue 35, item 2; docs/recaps.md): the text an organiser writes after a show, drafted by a
 * language model that reads the figures through Tapline's analytics tools. Every number in the text must
 * equal a tool's result as the text rounds it (dates and times inside the range aside); a draft that does
 * not is written again once, and what is still unmatched is marked `[unverified]`.
 */

export const RecapId = Schema.UUID.pipe(Schema.brand("RecapId"))
export type RecapId = typeof RecapId.Type

/** What a recap covers: one event, one campaign, or the organisation over a date range. */
export const CreateRecap = Schema.Struct({
  eventId: Schema.optional(EventId),
  campaignId: Schema.optional(CampaignId),
  /** Required for an organisation-wide recap; for an event or campaign, narrows it (default: all taps). */
  from: Schema.optional(Instant),
  to: Schema.optional(Instant)
}).annotations({
  examples: [
    { eventId: "01a2028c-3b1e-7c00-8000-0000000000e1" } as never,
    { from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z" } as never
  ]
})
export type CreateRecap = typeof CreateRecap.Type

export const RecapSubject = Schema.Struct({
  type: Schema.Literal("event", "campaign", "organization"),
  /** The event's or campaign's id; null for the organisation. */
  id: Schema.NullOr(Schema.String),
  name: Schema.String
})
export type RecapSubject = typeof RecapSubject.Type

/** One analytics query the model ran: the tool, its parameters and the result it was given. */
export const RecapToolCall = Schema.Struct({
  name: Schema.String,
  params: Schema.Unknown,
  result: Schema.Unknown
})
export type RecapToolCall = typeof RecapToolCall.Type

export const RecapGrounding = Schema.Struct({
  /** Every number in the generated text equals a tool result (after its rounding), or is a date in range. */
  grounded: Schema.Boolean,
  /** The first draft had unmatched numbers and was written again. */
  regenerated: Schema.Boolean,
  /** The numbers still unmatched after the second draft, as the text wrote them (each marked in `text`). */
  unmatched: Schema.Array(Schema.String)
})
export type RecapGrounding = typeof RecapGrounding.Type

export class Recap extends Schema.Class<Recap>("Recap")({
  id: RecapId,
  subject: RecapSubject,
  from: Schema.NullOr(Schema.DateTimeUtc),
  to: Schema.NullOr(Schema.DateTimeUtc),
  /** Markdown. The organiser may edit it; `grounding` is about the text as generated. */
  text: Schema.String,
  grounding: RecapGrounding,
  /** The queries and results the text was written from. */
  toolCalls: Schema.Array(RecapToolCall),
  provider: AiProviderName,
  model: Schema.String,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  costUsd: Schema.Number,
  createdAt: Schema.DateTimeUtc,
  editedAt: Schema.NullOr(Schema.DateTimeUtc)
}) {}

/** A recap in a list: no text, no tool results. */
export const RecapListItem = Schema.Struct({
  id: RecapId,
  subject: RecapSubject,
  from: Schema.NullOr(Schema.DateTimeUtc),
  to: Schema.NullOr(Schema.DateTimeUtc),
  grounded: Schema.Boolean,
  provider: AiProviderName,
  createdAt: Schema.DateTimeUtc,
  editedAt: Schema.NullOr(Schema.DateTimeUtc)
})
export type RecapListItem = typeof RecapListItem.Type

export const UpdateRecap = Schema.Struct({
  /** Markdown: line breaks and tabs, no other control character (PostgreSQL refuses NUL in text). */
  text: Schema.String.pipe(
    Schema.minLength(1),
    Schema.maxLength(100_000),
    Schema.filter((text) => !hasControlCharacters(text.replace(/[\n\r\t]/g, "")), {
      message: () => "control characters other than line breaks and tabs are not allowed"
    })
  )
})

/** The messages of the recap stream (`POST …/recaps/stream`). */
export const RecapStreamEvent = Schema.Union(
  Schema.Struct({ event: Schema.Literal("text"), data: Schema.Struct({ delta: Schema.String }) }),
  /** The first draft had unmatched numbers: the text so far is dropped and written again. */
  Schema.Struct({
    event: Schema.Literal("regenerating"),
    data: Schema.Struct({ unmatched: Schema.Array(Schema.String) })
  }),
  Schema.Struct({ event: Schema.Literal("done"), data: Schema.encodedSchema(Recap) }),
  Schema.Struct({
    event: Schema.Literal("error"),
    data: Schema.Struct({ _tag: Schema.String, message: Schema.String })
  })
)

const recapId = HttpApiSchema.param("recapId", RecapId)

export class RecapsApi extends HttpApiGroup.make("recaps")
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/recaps`
      .setPayload(CreateRecap)
      .addSuccess(Recap, { status: 201 })
      .annotate(
        OpenApi.Description,
        "Generates a recap (EDITOR) and keeps it with the queries it was written from. 429 AiBudgetExhausted when the month's budget is spent; 404 AiUnavailable when no provider is configured."
      )
  )
  .add(
    HttpApiEndpoint.post("stream")`/api/v1/organizations/${organizationId}/recaps/stream`
      .setPayload(CreateRecap)
      .addSuccess(
        Schema.String.pipe(
          HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" }),
          Schema.annotations({
            description:
              'The recap as it is written, as server-sent events: `text` `{"delta"}`; `regenerating` `{"unmatched"}` when the first draft is dropped; `done` with the stored recap; `error` `{"_tag","message"}` if every provider failed. Refusals before the first byte (budget, no provider, bad scope) are ordinary error responses.'
          })
        )
      )
  )
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/recaps`
      .setUrlParams(PageParams)
      .addSuccess(Page(RecapListItem))
  )
  .add(
    HttpApiEndpoint.get("get")`/api/v1/organizations/${organizationId}/recaps/${recapId}`.addSuccess(Recap)
  )
  .add(
    HttpApiEndpoint.patch("update")`/api/v1/organizations/${organizationId}/recaps/${recapId}`
      .setPayload(UpdateRecap)
      .addSuccess(Recap)
  )
  .add(
    HttpApiEndpoint.get("markdown")`/api/v1/organizations/${organizationId}/recaps/${recapId}/markdown`
      .addSuccess(
        Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/markdown" }))
      )
      .annotate(OpenApi.Description, "The recap as a Markdown file (a download).")
  )
  .add(
    HttpApiEndpoint.get("pdf")`/api/v1/organizations/${organizationId}/recaps/${recapId}/pdf`
      .addSuccess(
        Schema.Uint8ArrayFromSelf.pipe(
          HttpApiSchema.withEncoding({ kind: "Uint8Array", contentType: "application/pdf" })
        )
      )
      .annotate(OpenApi.Description, "The recap as a PDF file (a download).")
  )
  .addError(AiUnavailable)
  .addError(AiBudgetExhausted)
  .addError(NotFound)
  .addError(Forbidden)
  .addError(InvalidRequest)
  .addError(DependencyUnavailable)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Recaps")
  .annotate(
    OpenApi.Description,
    "AI recaps of an event, a campaign or a date range, every number checked against the analytics the model queried."
  ) {}
