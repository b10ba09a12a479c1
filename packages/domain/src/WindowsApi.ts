import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Event } from "./Event.js"
import { HttpUrl, Instant } from "./Fields.js"
import { Page, PageParams } from "./Pagination.js"
import { eventId, NoContent, organizationId, windowId } from "./Params.js"
import { Window, WindowDestination, WindowType } from "./Window.js"

const Title = Schema.String.pipe(Schema.maxLength(200))

export const CreateWindow = Schema.Struct({
  type: WindowType,
  title: Schema.optionalWith(Title, { default: () => "" }),
  url: HttpUrl,
  /** `REGISTRATION_PAGE`: taps go to the hosted registration page, which then links to `url`. */
  destination: Schema.optionalWith(WindowDestination, { default: () => "URL" as const }),
  startsAt: Instant,
  endsAt: Instant
}).annotations({
  examples: [
    {
      type: "LIVE",
      title: "Show",
      url: "https://acme.example/live" as HttpUrl,
      destination: "URL",
      startsAt: "2026-07-01T19:00:00Z" as never,
      endsAt: "2026-07-01T23:00:00Z" as never
    }
  ]
})

export const UpdateWindow = Schema.Struct({
  type: Schema.optional(WindowType),
  title: Schema.optional(Title),
  url: Schema.optional(HttpUrl),
  destination: Schema.optional(WindowDestination),
  startsAt: Schema.optional(Instant),
  endsAt: Schema.optional(Instant)
}).annotations({
  examples: [{ url: "https://acme.example/encore", endsAt: "2026-07-01T23:30:00Z" } as never]
})

/** Every window of the event at once: the new set replaces the old whole, or nothing changes. */
export const ReplaceWindows = Schema.Struct({
  windows: Schema.Array(CreateWindow).pipe(Schema.maxItems(500))
})

export class WindowsApi extends HttpApiGroup.make("windows")
  .add(
    HttpApiEndpoint.get("list")`/api/v1/organizations/${organizationId}/events/${eventId}/windows`
      .setUrlParams(PageParams)
      .addSuccess(Page(Window.json))
      .annotate(OpenApi.Description, "In time order.")
  )
  .add(
    HttpApiEndpoint.post("create")`/api/v1/organizations/${organizationId}/events/${eventId}/windows`
      .setPayload(CreateWindow)
      .addSuccess(Window.json, { status: 201 })
      .annotate(OpenApi.Description, "start < end; overlapping another window of the event answers 409.")
  )
  .add(
    HttpApiEndpoint.put("replace")`/api/v1/organizations/${organizationId}/events/${eventId}/windows`
      .setPayload(ReplaceWindows)
      .addSuccess(Schema.Array(Window.json))
      .annotate(
        OpenApi.Description,
        "Replaces every window of the event in one transaction. If any new window is invalid or overlaps another, nothing changes (409/400) and the error says so."
      )
  )
  .add(
    HttpApiEndpoint.patch(
      "update"
    )`/api/v1/organizations/${organizationId}/events/${eventId}/windows/${windowId}`
      .setPayload(UpdateWindow)
      .addSuccess(Window.json)
  )
  .add(
    HttpApiEndpoint.del(
      "delete"
    )`/api/v1/organizations/${organizationId}/events/${eventId}/windows/${windowId}`.addSuccess(NoContent)
  )
  .add(
    HttpApiEndpoint.post(
      "activate"
    )`/api/v1/organizations/${organizationId}/events/${eventId}/windows/${windowId}/activate`
      .addSuccess(Event.json)
      .annotate(
        OpenApi.Description,
        "Manual mode: this window is served whatever the time, until another is activated or the event goes back to `scheduled`."
      )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Windows")
  .annotate(OpenApi.Description, "Where a tap goes before, during and after the show.") {}
