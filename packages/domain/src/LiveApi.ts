import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound, TooManyRequests } from "./Errors.js"
import { EventId } from "./Ids.js"
import { organizationId } from "./Params.js"

export const LiveSummary = Schema.Struct({
  eventId: EventId,
  /** Taps in the current minute so far, bots excluded. */
  tapsThisMinute: Schema.Number,
  tapsLastMinute: Schema.Number,
  byModeThisMinute: Schema.Record({ key: Schema.String, value: Schema.Number }),
  uniqueBands: Schema.Number
})

/** A `tap` message of the live stream: one of the event's latest taps (no IP, no user agent). */
export const LiveTap = Schema.Struct({
  id: Schema.String,
  /** Epoch milliseconds. */
  at: Schema.Number,
  bandUid: Schema.String,
  mode: Schema.NullOr(Schema.String),
  kind: Schema.String
})
export type LiveTap = typeof LiveTap.Type

/** A `counts` message of the live stream: this minute's taps, by mode, and the distinct bands seen. */
export const LiveCounts = Schema.Struct({
  minute: Schema.Number,
  taps: Schema.Number,
  byMode: Schema.Record({ key: Schema.String, value: Schema.Number }),
  uniqueBands: Schema.Number
})
export type LiveCounts = typeof LiveCounts.Type

const eventIdParam = HttpApiSchema.param("eventId", EventId)

/** Live view of an event's taps, from the pipeline's Redis counters (never PostgreSQL). */
export class LiveApi extends HttpApiGroup.make("live")
  .add(
    HttpApiEndpoint.get(
      "summary"
    )`/api/v1/organizations/${organizationId}/events/${eventIdParam}/live/summary`.addSuccess(LiveSummary)
  )
  .add(
    HttpApiEndpoint.get(
      "stream"
    )`/api/v1/organizations/${organizationId}/events/${eventIdParam}/live`.addSuccess(
      Schema.String.pipe(
        HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" }),
        Schema.annotations({
          description:
            'Server-sent events, each second: `taps` `{"second":<epoch s>,"taps":<n>}` for each of the last five seconds and any second since the last tick (a later count for the same second replaces the earlier one); `counts` `{"minute","taps","byMode","uniqueBands"}` (this minute); then one `tap` `{"id","at","bandUid","mode","kind"}` per tap since the last second (the newest 50 at most). `unavailable` `{"message"}` when the counters cannot be read. Each `counts` carries an event id; a client that reconnects with it in `Last-Event-ID` (as EventSource does) gets the seconds it missed, up to a minute back, and no tap it already had. Access is checked again every second: once the API key is revoked, the session ends or the member loses the role, the stream sends `ended` `{"message"}` and closes. At most LIVE_STREAMS_PER_PRINCIPAL (5) streams per API key or user are open at once: the next gets 429 with Retry-After.'
        })
      )
    )
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .addError(TooManyRequests)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Live")
  .annotate(OpenApi.Description, "Taps per second and per minute as they arrive.") {}
