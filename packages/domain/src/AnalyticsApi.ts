import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, NotFound } from "./Errors.js"
import { Instant } from "./Fields.js"
import { BandId, EventId, WindowId } from "./Ids.js"
import { campaignId, eventId, organizationId } from "./Params.js"

export const Range = Schema.Struct({ from: Schema.optional(Instant), to: Schema.optional(Instant) })

export const Bucket = Schema.Literal("minute", "hour", "day", "week", "month")
export type Bucket = typeof Bucket.Type

export const Summary = Schema.Struct({
  /** Taps by people: bots and link previews excluded. */
  totalTaps: Schema.Number,
  botTaps: Schema.Number,
  duplicateTaps: Schema.Number,
  uniqueBands: Schema.Number,
  /** Bands tapped more than once. */
  repeatBands: Schema.Number,
  /** Unique bands / estimated attendees; null without an estimate. */
  engagement: Schema.NullOr(Schema.Number),
  averageTapsPerBand: Schema.Number,
  /** Over the minutes that had taps. */
  tapsPerMinute: Schema.Number,
  peakMinute: Schema.NullOr(Schema.Struct({ at: Schema.DateTimeUtc, taps: Schema.Number })),
  byMode: Schema.Record({ key: Schema.String, value: Schema.Number }),
  byKind: Schema.Record({ key: Schema.String, value: Schema.Number }),
  byWindow: Schema.Array(Schema.Struct({ windowId: Schema.NullOr(WindowId), taps: Schema.Number })),
  /** Of the bands first seen on a day, the share seen again N days later (event-local days). */
  retention: Schema.Struct({
    day1: Schema.Number,
    day3: Schema.Number,
    day7: Schema.Number,
    day14: Schema.Number,
    day30: Schema.Number
  }),
  topBands: Schema.Array(Schema.Struct({ bandId: BandId, bandUid: Schema.String, taps: Schema.Number }))
})
export type Summary = typeof Summary.Type

export const TimeSeries = Schema.Struct({
  bucket: Bucket,
  timezone: Schema.String,
  points: Schema.Array(
    Schema.Struct({
      /** The bucket's local start (`YYYY-MM-DDTHH:MM` in `timezone`). */
      at: Schema.String,
      /** The instant the bucket starts: tells apart the two local 02:00 hours of a daylight-saving change. */
      start: Schema.DateTimeUtc,
      taps: Schema.Number,
      botTaps: Schema.Number
    })
  )
})

/**
 * Taps by people (bots apart) per device, told from the user agent when the tap was stored: iOS (iPhone, iPad
 * in mobile mode, iPod, iOS in-app browsers), Android, and other (desktop browsers, iPadOS Safari in its
 * default desktop mode, which sends a Mac's user agent, no user agent). `unknown`: taps rolled up before
 * devices were recorded whose raw rows had already been removed by retention.
 */
export const DeviceBreakdown = Schema.Struct({
  ios: Schema.Number,
  android: Schema.Number,
  other: Schema.Number,
  unknown: Schema.Number
})
export type DeviceBreakdown = typeof DeviceBreakdown.Type

const TimeSeriesParams = Schema.Struct({ ...Range.fields, bucket: Schema.optional(Bucket) })

export class AnalyticsApi extends HttpApiGroup.make("analytics")
  .add(
    HttpApiEndpoint.get(
      "eventSummary"
    )`/api/v1/organizations/${organizationId}/analytics/events/${eventId}/summary`
      .setUrlParams(Range)
      .addSuccess(Summary)
  )
  .add(
    HttpApiEndpoint.get(
      "eventTimeSeries"
    )`/api/v1/organizations/${organizationId}/analytics/events/${eventId}/timeseries`
      .setUrlParams(TimeSeriesParams)
      .addSuccess(TimeSeries)
      .annotate(
        OpenApi.Description,
        "Taps per bucket in the event's time zone; without `bucket`, the range chooses (up to 6 h: minute; 3 days: hour; 90 days: day; else month)."
      )
  )
  .add(
    HttpApiEndpoint.get(
      "eventDevices"
    )`/api/v1/organizations/${organizationId}/analytics/events/${eventId}/devices`
      .setUrlParams(Range)
      .addSuccess(DeviceBreakdown)
      .annotate(OpenApi.Description, "Taps by device (iOS, Android, other), from the rollups.")
  )
  .add(
    HttpApiEndpoint.get(
      "eventTaps"
    )`/api/v1/organizations/${organizationId}/analytics/events/${eventId}/taps.csv`
      .setUrlParams(Range)
      .addSuccess(Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/csv" })))
      .annotate(OpenApi.Description, "Raw taps as CSV, streamed from a database cursor (millions of rows).")
  )
  .add(
    HttpApiEndpoint.get(
      "campaignSummary"
    )`/api/v1/organizations/${organizationId}/analytics/campaigns/${campaignId}/summary`
      .setUrlParams(Range)
      .addSuccess(Summary)
  )
  .add(
    HttpApiEndpoint.get(
      "campaignTimeSeries"
    )`/api/v1/organizations/${organizationId}/analytics/campaigns/${campaignId}/timeseries`
      .setUrlParams(TimeSeriesParams)
      .addSuccess(TimeSeries)
      .annotate(
        OpenApi.Description,
        "Taps per bucket over the campaign's events, in their time zone (UTC when they have several); without `bucket`, the range (or the events' span) chooses as for an event."
      )
  )
  .add(
    HttpApiEndpoint.get("organizationSummary")`/api/v1/organizations/${organizationId}/analytics/summary`
      .setUrlParams(Range)
      .addSuccess(Summary)
  )
  .add(
    HttpApiEndpoint.get(
      "organizationTimeSeries"
    )`/api/v1/organizations/${organizationId}/analytics/timeseries`
      .setUrlParams(TimeSeriesParams)
      .addSuccess(TimeSeries)
      .annotate(
        OpenApi.Description,
        "Taps per bucket over the organisation's events, in their time zone (UTC when they have several); without `bucket`, the range (or the events' span) chooses as for an event."
      )
  )
  .add(
    HttpApiEndpoint.get("compare")`/api/v1/organizations/${organizationId}/analytics/compare`
      .setUrlParams(
        Schema.Struct({
          ...Range.fields,
          eventIds: Schema.compose(Schema.split(","), Schema.Array(EventId)).pipe(
            Schema.minItems(1),
            Schema.maxItems(20)
          )
        })
      )
      .addSuccess(Schema.Array(Schema.Struct({ eventId: EventId, name: Schema.String, summary: Summary })))
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Analytics")
  .annotate(OpenApi.Description, "Served from rollups, refreshed every minute by the rollup job.") {}
