import { CampaignId, EventId, OrganizationId } from "@tapline/domain"
import { DateTime } from "effect"
import { useState } from "react"
import { call, endpointUrl } from "../api.js"
import { useSession } from "../session.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useEvents, useLoad } from "../ui/useLoad.js"
import { SummaryView, summaryCsv } from "./AnalyticsSummary.js"
import { CompareEvents } from "./CompareEvents.js"

const RANGES = { "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000, all: null } as const
type RangeName = keyof typeof RANGES
const RANGE_LABEL: Record<RangeName, string> = {
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  all: "All time"
}

type Scope = { readonly kind: "organization" } | { readonly kind: "campaign" | "event"; readonly id: string }

/** Organisation, campaign and event analytics, a range, and a comparison of events. */
export const Analytics = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const [scope, setScope] = useState<Scope>(() => {
    const eventId = new URLSearchParams(window.location.search).get("eventId")
    return eventId === null ? { kind: "organization" } : { kind: "event", id: eventId }
  })
  const [range, setRange] = useState<RangeName>("7d")
  const events = useEvents(organizationId)
  const campaigns = useLoad(
    () =>
      call((c) => c.campaigns.list({ path: { organizationId }, urlParams: { limit: 500, deleted: false } })),
    [organizationId]
  )
  const span = RANGES[range]
  const now = Date.now()
  // Whole minutes, so the range (and the request) does not change on every render.
  const fromMs = span === null ? undefined : Math.floor((now - span) / 60_000) * 60_000
  const urlParams = { from: fromMs === undefined ? undefined : DateTime.unsafeMake(fromMs) }
  const summary = useLoad(() => {
    if (scope.kind === "event")
      return call((c) =>
        c.analytics.eventSummary({ path: { organizationId, eventId: EventId.make(scope.id) }, urlParams })
      )
    if (scope.kind === "campaign")
      return call((c) =>
        c.analytics.campaignSummary({
          path: { organizationId, campaignId: CampaignId.make(scope.id) },
          urlParams
        })
      )
    return call((c) => c.analytics.organizationSummary({ path: { organizationId }, urlParams }))
  }, [organizationId, scope, fromMs])
  const series = useLoad(
    () =>
      scope.kind === "event"
        ? call((c) =>
            c.analytics.eventTimeSeries({
              path: { organizationId, eventId: EventId.make(scope.id) },
              urlParams
            })
          )
        : Promise.resolve(null),
    [organizationId, scope, fromMs]
  )
  const devices = useLoad(
    () =>
      scope.kind === "event"
        ? call((c) =>
            c.analytics.eventDevices({ path: { organizationId, eventId: EventId.make(scope.id) }, urlParams })
          )
        : Promise.resolve(null),
    [organizationId, scope, fromMs]
  )
  const windows = useLoad(
    () =>
      scope.kind === "event"
        ? call((c) =>
            c.windows.list({
              path: { organizationId, eventId: EventId.make(scope.id) },
              urlParams: { limit: 500 }
            })
          ).then((p) => p.items)
        : Promise.resolve([]),
    [organizationId, scope]
  )

  const windowName = (id: string | null) =>
    id === null ? "No window" : windows.data?.find((w) => w.id === id)?.title || id.slice(0, 8)
  const s = summary.data
  const download = () => {
    if (s === null) return
    const link = document.createElement("a")
    link.href = URL.createObjectURL(new Blob([summaryCsv(s, windowName)], { type: "text/csv" }))
    link.download = `tapline-analytics-${scope.kind}-${range}.csv`
    link.click()
    URL.revokeObjectURL(link.href)
  }
  const scopeValue = scope.kind === "organization" ? "organization" : `${scope.kind}:${scope.id}`

  return (
    <section aria-labelledby="analytics-heading">
      <h1 id="analytics-heading">Analytics</h1>
      <form className="filters" aria-label="Analytics scope" onSubmit={(e) => e.preventDefault()}>
        <label>
          Show{" "}
          <select
            value={scopeValue}
            onChange={(e) => {
              const [kind, id] = e.target.value.split(":") as ["organization" | "campaign" | "event", string]
              setScope(kind === "organization" ? { kind } : { kind, id })
            }}
          >
            <option value="organization">The whole organisation</option>
            <optgroup label="Campaigns">
              {campaigns.data?.items.map((c) => (
                <option key={c.id} value={`campaign:${c.id}`}>
                  {c.name}
                </option>
              ))}
            </optgroup>
            <optgroup label="Events">
              {events.data?.items.map((e) => (
                <option key={e.id} value={`event:${e.id}`}>
                  {e.name}
                </option>
              ))}
            </optgroup>
          </select>
        </label>
        <label>
          Range{" "}
          <select value={range} onChange={(e) => setRange(e.target.value as RangeName)}>
            {(Object.keys(RANGES) as Array<RangeName>).map((r) => (
              <option key={r} value={r}>
                {RANGE_LABEL[r]}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="quiet" onClick={download} disabled={s === null}>
          Download summary (CSV)
        </button>
        {scope.kind === "event" && (
          <a
            className="button quiet"
            href={endpointUrl(
              "analytics",
              "eventTaps",
              { organizationId, eventId: scope.id },
              { from: fromMs === undefined ? undefined : new Date(fromMs).toISOString() }
            )}
          >
            Download taps (CSV)
          </a>
        )}
      </form>
      <ErrorNotice error={summary.error ?? series.error} />
      {s === null ? (
        <Loading what="analytics" />
      ) : (
        <SummaryView
          summary={s}
          series={series.data ?? null}
          devices={devices.data ?? null}
          range={fromMs === undefined ? undefined : [fromMs / 1000, fromMs / 1000 + (span ?? 0) / 1000]}
          windowName={windowName}
        />
      )}
      <CompareEvents
        organizationId={organizationId}
        events={events.data?.items ?? []}
        from={urlParams.from}
      />
    </section>
  )
}
