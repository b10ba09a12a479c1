import type { Bucket, CampaignId, EventId, OrganizationId } from "@tapline/domain"
import { Effect } from "effect"
import { Changes } from "../Admin/Changes.js"
import { CampaignRepository } from "../Campaigns/CampaignRepository.js"
import { EventRepository } from "../Events/EventRepository.js"
import { AnalyticsRepository, bucketFor, type Range } from "./AnalyticsRepository.js"

/** Events an answer covers: one event by id (see eventScope), or a campaign's or organisation's live ones. */
interface Scope {
  readonly ids: ReadonlyArray<string>
  readonly attendees: number | null
  /** The events' time zone, or UTC when they have several. */
  readonly timezone: string
  readonly name: string
  /** From the earliest start to the latest end, when every event has both. */
  readonly spanMs: number | null
  /** A purged event's (its bands are gone; see AnalyticsRepository.summary). */
  readonly purged: boolean
}

const DAY_MS = 24 * 3_600_000

/** Summaries and time series of an event, a campaign or a whole organisation. */
export class Analytics extends Effect.Service<Analytics>()("@tapline/server/Analytics", {
  effect: Effect.gen(function* () {
    const repository = yield* AnalyticsRepository
    const events = yield* EventRepository
    const campaigns = yield* CampaignRepository
    const changes = yield* Changes

    const scope = (organizationId: OrganizationId, of: { eventId?: EventId; campaignId?: CampaignId }) =>
      Effect.map(
        Effect.orDie(events.inScope(organizationId, of)),
        (rows): Scope => ({
          ids: rows.map((row) => row.id),
          attendees: rows.some((row) => row.estimatedAttendees !== null)
            ? rows.reduce((sum, row) => sum + (row.estimatedAttendees ?? 0), 0)
            : null,
          timezone: new Set(rows.map((row) => row.timezone)).size === 1 ? rows[0]!.timezone : "UTC",
          name: rows[0]?.name ?? "",
          spanMs:
            rows.length > 0 && rows.every((row) => row.startsAt !== null && row.endsAt !== null)
              ? Math.max(...rows.map((row) => row.endsAt!.getTime())) -
                Math.min(...rows.map((row) => row.startsAt!.getTime()))
              : null,
          purged: false
        })
      )

    /**
     * One event's answers read its taps and rollups, which outlive it: an event in the trash or purged (from
     * its tombstone) still answers by id. Only another organisation's id, or one never seen, is a 404.
     */
    const eventScope = (organizationId: OrganizationId, eventId: EventId) =>
      Effect.flatMap(Effect.orDie(events.analyticsSubject(organizationId, eventId)), ([row]) =>
        row === undefined
          ? changes.notFound("event", eventId)
          : Effect.succeed<Scope>({
              ids: [row.id],
              attendees: row.estimatedAttendees,
              timezone: row.timezone,
              name: row.name,
              spanMs:
                row.startsAt !== null && row.endsAt !== null
                  ? row.endsAt.getTime() - row.startsAt.getTime()
                  : null,
              purged: row.purged
            })
      )

    const summarize = (found: Scope, range: Range) =>
      Effect.orDie(repository.summary(found.ids, found.attendees, range, { purged: found.purged }))

    const eventSummary = Effect.fn("Analytics.eventSummary")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      range: Range
    ) {
      return yield* summarize(yield* eventScope(organizationId, eventId), range)
    })

    /** Without a bucket, the range (or the events' span, or a day) chooses one. */
    const series = (found: Scope, range: Range & { readonly bucket?: Bucket | undefined }) =>
      Effect.gen(function* () {
        const bucket = range.bucket ?? bucketFor(range, found.spanMs ?? DAY_MS)
        const points = yield* Effect.orDie(repository.timeSeries(found.ids, found.timezone, bucket, range))
        return { bucket, timezone: found.timezone, points }
      })

    const eventTimeSeries = Effect.fn("Analytics.eventTimeSeries")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      range: Range & { readonly bucket?: Bucket | undefined }
    ) {
      return yield* series(yield* eventScope(organizationId, eventId), range)
    })

    const campaignScope = (organizationId: OrganizationId, campaignId: CampaignId) =>
      Effect.gen(function* () {
        const campaign = yield* Effect.orDie(campaigns.find(organizationId, campaignId))
        if (campaign === undefined) return yield* changes.notFound("campaign", campaignId)
        return yield* scope(organizationId, { campaignId })
      })

    const campaignTimeSeries = Effect.fn("Analytics.campaignTimeSeries")(function* (
      organizationId: OrganizationId,
      campaignId: CampaignId,
      range: Range & { readonly bucket?: Bucket | undefined }
    ) {
      return yield* series(yield* campaignScope(organizationId, campaignId), range)
    })

    const organizationTimeSeries = Effect.fn("Analytics.organizationTimeSeries")(function* (
      organizationId: OrganizationId,
      range: Range & { readonly bucket?: Bucket | undefined }
    ) {
      return yield* series(yield* scope(organizationId, {}), range)
    })

    const campaignSummary = Effect.fn("Analytics.campaignSummary")(function* (
      organizationId: OrganizationId,
      campaignId: CampaignId,
      range: Range
    ) {
      return yield* summarize(yield* campaignScope(organizationId, campaignId), range)
    })

    const organizationSummary = Effect.fn("Analytics.organizationSummary")(function* (
      organizationId: OrganizationId,
      range: Range
    ) {
      return yield* summarize(yield* scope(organizationId, {}), range)
    })

    const eventDevices = Effect.fn("Analytics.eventDevices")(function* (
      organizationId: OrganizationId,
      eventId: EventId,
      range: Range
    ) {
      const found = yield* eventScope(organizationId, eventId)
      return yield* Effect.orDie(repository.devices(found.ids, range))
    })

    /** Every id is checked first, one after the other: a 404 must not interrupt summaries in flight. */
    const compare = Effect.fn("Analytics.compare")(function* (
      organizationId: OrganizationId,
      eventIds: ReadonlyArray<EventId>,
      range: Range
    ) {
      const found = yield* Effect.forEach([...new Set(eventIds)], (eventId) =>
        Effect.map(eventScope(organizationId, eventId), (event) => ({ eventId, event }))
      )
      return yield* Effect.forEach(
        found,
        ({ event, eventId }) =>
          Effect.map(summarize(event, range), (summary) => ({ eventId, name: event.name, summary })),
        { concurrency: 4 }
      )
    })

    /** That the event is (or was) the organisation's, for the taps download. */
    const checkEvent = (organizationId: OrganizationId, eventId: EventId) =>
      Effect.asVoid(eventScope(organizationId, eventId))

    return {
      eventSummary,
      eventTimeSeries,
      eventDevices,
      campaignSummary,
      campaignTimeSeries,
      organizationSummary,
      organizationTimeSeries,
      compare,
      checkEvent
    } as const
  }),
  dependencies: [AnalyticsRepository.Default, EventRepository.Default, CampaignRepository.Default]
}) {}
