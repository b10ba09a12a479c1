import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import { type EventId, NotFound, type OrganizationId, TaplineApi } from "@tapline/domain"
import { Effect, Stream } from "effect"
import { Analytics, bucketFor, type Range } from "../Analytics/Analytics.js"
import { requireRole } from "../Auth/Authorization.js"
import { exportCsv, iso } from "../Exports/CsvExports.js"

export const AnalyticsHandlers = HttpApiBuilder.group(TaplineApi, "analytics", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const analytics = yield* Analytics

    interface Scope {
      readonly ids: ReadonlyArray<string>
      readonly attendees: number | null
      readonly timezone: string
      readonly name: string
      readonly startsAt: Date | null
      readonly endsAt: Date | null
    }

    /** Events in scope, all of the organisation (a foreign id finds nothing: 404). */
    const scope = (organizationId: OrganizationId, condition: Statement.Fragment, what: string, id: string) =>
      sql<{
        id: string
        estimatedAttendees: number | null
        timezone: string
        name: string
        startsAt: Date | null
        endsAt: Date | null
      }>`
        select id, estimated_attendees, timezone, name, starts_at, ends_at from events
        where organization_id = ${organizationId} and deleted_at is null and ${condition} order by id`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows.length === 0 && what !== "organization"
            ? new NotFound({ resource: what, id })
            : Effect.succeed({
                ids: rows.map((row) => row.id),
                attendees: rows.some((row) => row.estimatedAttendees !== null)
                  ? rows.reduce((sum, row) => sum + (row.estimatedAttendees ?? 0), 0)
                  : null,
                timezone: rows[0]?.timezone ?? "UTC",
                name: rows[0]?.name ?? "",
                startsAt: rows[0]?.startsAt ?? null,
                endsAt: rows[0]?.endsAt ?? null
              } satisfies Scope)
        )
      )

    const eventScope = (organizationId: OrganizationId, eventId: EventId) =>
      scope(organizationId, sql`id = ${eventId}`, "event", eventId)

    const summarize = (s: Scope, range: Range) => Effect.orDie(analytics.summary(s.ids, s.attendees, range))

    return handlers
      .handle("eventSummary", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          return yield* summarize(yield* eventScope(path.organizationId, path.eventId), urlParams)
        })
      )
      .handle("eventTimeSeries", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const event = yield* eventScope(path.organizationId, path.eventId)
          const span =
            event.startsAt !== null && event.endsAt !== null
              ? event.endsAt.getTime() - event.startsAt.getTime()
              : 24 * 3_600_000
          const bucket = urlParams.bucket ?? bucketFor(urlParams, span)
          const points = yield* Effect.orDie(
            analytics.timeSeries(path.eventId, event.timezone, bucket, urlParams)
          )
          return { bucket, timezone: event.timezone, points }
        })
      )
      .handle("eventTaps", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          yield* eventScope(path.organizationId, path.eventId)
          const body = exportCsv(path.organizationId, {
            kind: "taps",
            eventId: path.eventId,
            from: iso(urlParams.from),
            to: iso(urlParams.to)
          }).pipe(Stream.encodeText, Stream.provideService(SqlClient.SqlClient, sql))
          return HttpServerResponse.stream(body, {
            contentType: "text/csv; charset=utf-8",
            headers: { "content-disposition": `attachment; filename="taps-${path.eventId}.csv"` }
          })
        })
      )
      .handle("campaignSummary", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          const campaign = yield* sql`select 1 from campaigns where id = ${path.campaignId}
            and organization_id = ${path.organizationId} and deleted_at is null`.pipe(Effect.orDie)
          if (campaign.length === 0) return yield* new NotFound({ resource: "campaign", id: path.campaignId })
          const events = yield* scope(
            path.organizationId,
            sql`campaign_id = ${path.campaignId}`,
            "organization",
            ""
          )
          return yield* summarize(events, urlParams)
        })
      )
      .handle("organizationSummary", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          return yield* summarize(yield* scope(path.organizationId, sql`true`, "organization", ""), urlParams)
        })
      )
      .handle("compare", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          // Every id is checked first, one after the other: a 404 must not interrupt summaries in flight.
          const events = yield* Effect.forEach([...new Set(urlParams.eventIds)], (eventId) =>
            Effect.map(eventScope(path.organizationId, eventId), (event) => ({ eventId, event }))
          )
          return yield* Effect.forEach(
            events,
            ({ event, eventId }) =>
              Effect.map(summarize(event, urlParams), (summary) => ({ eventId, name: event.name, summary })),
            { concurrency: 4 }
          )
        })
      )
  })
)
