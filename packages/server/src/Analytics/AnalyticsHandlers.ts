import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { iso } from "../Exports/CsvExports.js"
import { Exports } from "../Exports/Exports.js"
import { Analytics } from "./Analytics.js"

export const AnalyticsHandlers = HttpApiBuilder.group(TaplineApi, "analytics", (handlers) =>
  Effect.gen(function* () {
    const analytics = yield* Analytics
    const exports = yield* Exports
    return handlers
      .handle(
        "eventSummary",
        withRole("VIEWER", ({ path, urlParams }) =>
          analytics.eventSummary(path.organizationId, path.eventId, urlParams)
        )
      )
      .handle(
        "eventTimeSeries",
        withRole("VIEWER", ({ path, urlParams }) =>
          analytics.eventTimeSeries(path.organizationId, path.eventId, urlParams)
        )
      )
      .handle(
        "eventDevices",
        withRole("VIEWER", ({ path, urlParams }) =>
          analytics.eventDevices(path.organizationId, path.eventId, urlParams)
        )
      )
      .handle(
        "eventTaps",
        withRole("VIEWER", ({ path: { eventId, organizationId }, urlParams: { from, to } }) =>
          Effect.as(
            analytics.checkEvent(organizationId, eventId),
            HttpServerResponse.stream(
              exports.csv(organizationId, { kind: "taps", eventId, from: iso(from), to: iso(to) }),
              {
                contentType: "text/csv; charset=utf-8",
                headers: { "content-disposition": `attachment; filename="taps-${eventId}.csv"` }
              }
            )
          )
        )
      )
      .handle(
        "campaignSummary",
        withRole("VIEWER", ({ path, urlParams }) =>
          analytics.campaignSummary(path.organizationId, path.campaignId, urlParams)
        )
      )
      .handle(
        "campaignTimeSeries",
        withRole("VIEWER", ({ path, urlParams }) =>
          analytics.campaignTimeSeries(path.organizationId, path.campaignId, urlParams)
        )
      )
      .handle(
        "organizationSummary",
        withRole("VIEWER", ({ path, urlParams }) =>
          analytics.organizationSummary(path.organizationId, urlParams)
        )
      )
      .handle(
        "organizationTimeSeries",
        withRole("VIEWER", ({ path, urlParams }) =>
          analytics.organizationTimeSeries(path.organizationId, urlParams)
        )
      )
      .handle(
        "compare",
        withRole("VIEWER", ({ path, urlParams }) =>
          analytics.compare(path.organizationId, urlParams.eventIds, urlParams)
        )
      )
  })
)
