import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as SqlClient from "@effect/sql/SqlClient"
import type { CampaignId, EventId, OrganizationId, Summary } from "@tapline/domain"
import { DateTime, Effect, Schema } from "effect"
import { Analytics } from "../Analytics/Analytics.js"
import { computeFigures } from "../Reports/ReportFigures.js"
import type { DateRange } from "./Grounding.js"
import * as LocalTime from "./LocalTime.js"
import { RecapRepository } from "./RecapRepository.js"

/*
 * The analytics a recap's model may query: the tools run Tapline's own queries for the recap's subject and
 * range only (the model names no organisation, event or range, so it cannot reach another's). Results carry
 * figures and names the organiser chose (event, windows, activations), never a registrant: no name, email,
 * phone or band holder. Instants are written in the subject's zone, as the recap should write them.
 */

/** What a recap covers, resolved: the subject, the range asked for, and the span its dates may fall in. */
export interface RecapScope {
  readonly organizationId: OrganizationId
  readonly type: "event" | "campaign" | "organization"
  readonly id: string | null
  readonly name: string
  readonly timezone: string
  /** The range asked for (null: all the subject's taps). */
  readonly from: Date | null
  readonly to: Date | null
  /** Where the text's dates need no tool: the range asked for, else the subject's events and windows. */
  readonly dates: DateRange | null
}

const NoParameters = {}

const SummaryTool = Tool.make("summary", {
  description:
    "Totals for the recap's subject and range: taps by people (bots excluded), unique bands, bands that came back (tapped more than once), engagement (unique bands / estimated attendees, a share from 0 to 1), average taps per band, taps per minute, the peak minute, taps by mode and kind, and retention shares (bands seen again N days later).",
  parameters: NoParameters,
  success: Schema.Unknown
})

const WindowsTool = Tool.make("windows", {
  description:
    "Engagement per time window (before, during, after the show): each window's title, type, local start and end, taps and its share of all taps.",
  parameters: NoParameters,
  success: Schema.Unknown
})

const TimeSeriesTool = Tool.make("timeseries", {
  description: "Taps per hour or per day over the range, in the subject's time zone (at most 200 points).",
  parameters: { bucket: Schema.Literal("hour", "day") },
  success: Schema.Unknown
})

const ActivationsTool = Tool.make("activations", {
  description:
    "The top sponsor activations (named sets of bands, tags or windows) in the range: taps by people, each counted once, and unique bands.",
  parameters: NoParameters,
  success: Schema.Unknown
})

export const RecapToolkit = Toolkit.make(SummaryTool, WindowsTool, TimeSeriesTool, ActivationsTool)

const share = (part: number, whole: number) => (whole === 0 ? 0 : Number((part / whole).toFixed(4)))
const round = (value: number) => Number(value.toFixed(2))

/** The toolkit with its handlers bound to one scope: what `AiRequest.toolkit` takes. */
export const toolkitFor = (scope: RecapScope) =>
  Effect.gen(function* () {
    const analytics = yield* Analytics
    const repository = yield* RecapRepository
    const sql = yield* SqlClient.SqlClient
    const local = LocalTime.dateTime(scope.timezone)
    const range = {
      from: scope.from === null ? undefined : DateTime.unsafeFromDate(scope.from),
      to: scope.to === null ? undefined : DateTime.unsafeFromDate(scope.to)
    }
    const org = scope.organizationId

    const summary: Effect.Effect<Summary> =
      scope.type === "event"
        ? Effect.orDie(analytics.eventSummary(org, scope.id as EventId, range))
        : scope.type === "campaign"
          ? Effect.orDie(analytics.campaignSummary(org, scope.id as CampaignId, range))
          : analytics.organizationSummary(org, range)

    const handlers = RecapToolkit.of({
      summary: () =>
        Effect.map(summary, (s) => ({
          subject: { type: scope.type, name: scope.name },
          timezone: scope.timezone,
          totalTaps: s.totalTaps,
          uniqueBands: s.uniqueBands,
          repeatBands: s.repeatBands,
          botTaps: s.botTaps,
          duplicateTaps: s.duplicateTaps,
          engagement: s.engagement === null ? null : round(s.engagement * 100) / 100,
          averageTapsPerBand: round(s.averageTapsPerBand),
          tapsPerMinute: round(s.tapsPerMinute),
          peakMinute:
            s.peakMinute === null
              ? null
              : { at: local(DateTime.toDate(s.peakMinute.at)), taps: s.peakMinute.taps },
          byMode: s.byMode,
          byKind: s.byKind,
          retention: s.retention
        })),
      windows: () =>
        Effect.gen(function* () {
          const s = yield* summary
          const ids = s.byWindow.flatMap((w) => (w.windowId === null ? [] : [w.windowId]))
          const rows = yield* Effect.orDie(repository.windows(org, ids))
          return s.byWindow.map((w) => {
            const row = rows.find((r) => r.id === w.windowId)
            const title = w.windowId === null ? "outside any window" : "a window since deleted"
            return row === undefined
              ? { title, type: null, taps: w.taps, share: share(w.taps, s.totalTaps) }
              : {
                  title: row.title,
                  type: row.type,
                  starts: local(row.startsAt),
                  ends: local(row.endsAt),
                  taps: w.taps,
                  share: share(w.taps, s.totalTaps)
                }
          })
        }),
      timeseries: ({ bucket }) =>
        Effect.map(
          scope.type === "event"
            ? Effect.orDie(analytics.eventTimeSeries(org, scope.id as EventId, { ...range, bucket }))
            : scope.type === "campaign"
              ? Effect.orDie(analytics.campaignTimeSeries(org, scope.id as CampaignId, { ...range, bucket }))
              : analytics.organizationTimeSeries(org, { ...range, bucket }),
          (series) => ({
            bucket: series.bucket,
            timezone: series.timezone,
            points: series.points.slice(-200).map((p) => ({ at: p.at.replace("T", " "), taps: p.taps }))
          })
        ),
      activations: () =>
        Effect.gen(function* () {
          const rows = yield* Effect.orDie(
            repository.activations(org, scope.dates?.from ?? null, scope.dates?.to ?? null)
          )
          const figures = yield* Effect.forEach(
            rows,
            (row) => {
              const from = scope.dates === null ? row.startsAt : maxDate(row.startsAt, scope.dates.from)
              const to = scope.dates === null ? row.endsAt : minDate(row.endsAt, scope.dates.to)
              return Effect.map(
                Effect.orDie(
                  computeFigures({
                    organizationId: org,
                    bandIds: row.bandIds,
                    tagIds: row.tagIds,
                    windowIds: row.windowIds,
                    from,
                    to
                  }).pipe(Effect.provideService(SqlClient.SqlClient, sql))
                ),
                (f) => ({ name: row.name, taps: f.taps, uniqueBands: f.uniqueBands })
              )
            },
            { concurrency: 2 }
          )
          return figures.sort((a, b) => b.taps - a.taps).slice(0, 10)
        })
    })
    return yield* Effect.provide(RecapToolkit, RecapToolkit.toLayer(handlers))
  })

const maxDate = (a: Date, b: Date) => (a.getTime() > b.getTime() ? a : b)
const minDate = (a: Date, b: Date) => (a.getTime() < b.getTime() ? a : b)
