import { CampaignId, EventId, OrganizationId, type Summary } from "@tapline/domain"
import { DateTime } from "effect"
import { useState } from "react"
import { call, endpointUrl } from "../api.js"
import { useSession } from "../session.js"
import { Chart } from "../ui/Chart.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useLoad } from "../ui/useLoad.js"

const RANGES = { "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000, all: null } as const
type RangeName = keyof typeof RANGES
const RANGE_LABEL: Record<RangeName, string> = {
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  all: "All time"
}

type Scope = { readonly kind: "organization" } | { readonly kind: "campaign" | "event"; readonly id: string }

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`

/** Rows of one breakdown as `[label, taps]`, largest first. */
const rowsOf = (record: Readonly<Record<string, number>>) =>
  Object.entries(record).sort((a, b) => b[1] - a[1])

/** The summary as CSV (what is on screen), for a spreadsheet. */
export const summaryCsv = (summary: Summary, windowName: (id: string | null) => string) => {
  const lines = [["section", "name", "value"]]
  for (const key of [
    "totalTaps",
    "botTaps",
    "duplicateTaps",
    "uniqueBands",
    "repeatBands",
    "tapsPerMinute"
  ] as const)
    lines.push(["total", key, String(summary[key])])
  for (const [mode, n] of rowsOf(summary.byMode)) lines.push(["mode", mode, String(n)])
  for (const [kind, n] of rowsOf(summary.byKind)) lines.push(["redirect", kind, String(n)])
  for (const w of summary.byWindow) lines.push(["window", windowName(w.windowId), String(w.taps)])
  for (const [day, share] of Object.entries(summary.retention)) lines.push(["retention", day, String(share)])
  for (const b of summary.topBands) lines.push(["top band", b.bandUid, String(b.taps)])
  const quote = (cell: string) =>
    /[",\n\r]/.test(cell) || /^[=+\-@]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell
  return `${lines.map((line) => line.map(quote).join(",")).join("\r\n")}\r\n`
}

const Breakdown = ({
  title,
  rows
}: {
  readonly title: string
  readonly rows: ReadonlyArray<readonly [string, number]>
}) => {
  const max = Math.max(1, ...rows.map((r) => r[1]))
  return (
    <table aria-label={title} className="breakdown">
      <caption>{title}</caption>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td>No taps</td>
          </tr>
        )}
        {rows.map(([label, n]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td>
              <span className="bar" style={{ width: `${(n / max) * 100}%` }} />
              {n}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Organisation, campaign and event analytics, a range, and a comparison of events. */
export const Analytics = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const [scope, setScope] = useState<Scope>(() => {
    const eventId = new URLSearchParams(window.location.search).get("eventId")
    return eventId === null ? { kind: "organization" } : { kind: "event", id: eventId }
  })
  const [range, setRange] = useState<RangeName>("7d")
  const [compared, setCompared] = useState<ReadonlyArray<string>>([])
  const events = useLoad(
    () => call((c) => c.events.list({ path: { organizationId }, urlParams: { limit: 500, deleted: false } })),
    [organizationId]
  )
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
  const comparison = useLoad(
    () =>
      compared.length === 0
        ? Promise.resolve([])
        : call((c) =>
            c.analytics.compare({
              path: { organizationId },
              urlParams: { ...urlParams, eventIds: compared.map((id) => EventId.make(id)) }
            })
          ),
    [organizationId, compared, fromMs]
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
        <>
          <dl className="counters" aria-label="Totals">
            <div>
              <dt>Taps</dt>
              <dd data-testid="total-taps">{s.totalTaps}</dd>
            </div>
            <div>
              <dt>Unique bands</dt>
              <dd data-testid="unique-bands">{s.uniqueBands}</dd>
            </div>
            <div>
              <dt>Bands back again</dt>
              <dd>{s.repeatBands}</dd>
            </div>
            <div>
              <dt>Engagement</dt>
              <dd>{s.engagement === null ? "—" : percent(s.engagement)}</dd>
            </div>
            <div>
              <dt>Taps per minute</dt>
              <dd>{Math.round(s.tapsPerMinute * 10) / 10}</dd>
            </div>
            <div>
              <dt>Bots and previews</dt>
              <dd>{s.botTaps}</dd>
            </div>
          </dl>
          {series.data !== null && series.data !== undefined && (
            <Chart
              title={`Taps per ${series.data.bucket} (${series.data.timezone})`}
              summary={`${series.data.points.length} ${series.data.bucket}s, ${s.totalTaps} taps in all`}
              x={series.data.points.map((p) => Date.parse(p.at) / 1000)}
              ys={[series.data.points.map((p) => p.taps)]}
              series={[{ label: "Taps", color: "#0f7b6c" }]}
            />
          )}
          <div className="grid">
            <Breakdown title="By mode" rows={rowsOf(s.byMode)} />
            <Breakdown title="By redirect kind" rows={rowsOf(s.byKind)} />
            <Breakdown
              title="By window"
              rows={s.byWindow.map((w) => [windowName(w.windowId), w.taps] as const)}
            />
          </div>
          <table aria-label="Retention">
            <caption>Retention: bands seen again after their first day</caption>
            <thead>
              <tr>
                {Object.keys(s.retention).map((day) => (
                  <th key={day} scope="col">
                    {day.replace("day", "Day ")}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr>
                {Object.entries(s.retention).map(([day, share]) => (
                  <td key={day}>{percent(share)}</td>
                ))}
              </tr>
            </tbody>
          </table>
          <table aria-label="Top bands">
            <caption>Top bands</caption>
            <thead>
              <tr>
                <th scope="col">Band</th>
                <th scope="col">Taps</th>
              </tr>
            </thead>
            <tbody>
              {s.topBands.map((b) => (
                <tr key={b.bandId}>
                  <td>
                    <code>{b.bandUid}</code>
                  </td>
                  <td>{b.taps}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2>Compare events</h2>
      <fieldset className="checks">
        <legend>Events to compare (up to 20)</legend>
        {events.data?.items.map((e) => (
          <label key={e.id}>
            <input
              type="checkbox"
              checked={compared.includes(e.id)}
              disabled={!compared.includes(e.id) && compared.length >= 20}
              onChange={(change) =>
                setCompared(
                  change.target.checked ? [...compared, e.id] : compared.filter((id) => id !== e.id)
                )
              }
            />{" "}
            {e.name}
          </label>
        ))}
      </fieldset>
      <ErrorNotice error={comparison.error} />
      {comparison.data !== null && comparison.data.length > 0 && (
        <table aria-label="Comparison">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Taps</th>
              <th scope="col">Unique bands</th>
              <th scope="col">Engagement</th>
              <th scope="col">Peak minute</th>
            </tr>
          </thead>
          <tbody>
            {comparison.data.map((row) => (
              <tr key={row.eventId}>
                <th scope="row">{row.name}</th>
                <td>{row.summary.totalTaps}</td>
                <td>{row.summary.uniqueBands}</td>
                <td>{row.summary.engagement === null ? "—" : percent(row.summary.engagement)}</td>
                <td>{row.summary.peakMinute?.taps ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
