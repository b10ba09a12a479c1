import { csvText, type DeviceBreakdown, type Summary, type TimeSeries } from "@tapline/domain"
import { Chart } from "../ui/Chart.js"

export const percent = (share: number) => `${Math.round(share * 1000) / 10}%`

/** Rows of one breakdown as `[label, taps]`, largest first. */
const rowsOf = (record: Readonly<Record<string, number>>) =>
  Object.entries(record).sort((a, b) => b[1] - a[1])

/** The summary as CSV (what is on screen), for a spreadsheet; cells as every Tapline CSV writes them. */
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
  // Window titles and band ids are typed or imported by people: the shared rule neutralises formulas.
  return csvText(lines)
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

/** One scope's totals, time series (events), breakdowns, retention and top bands. */
const DEVICE_LABEL = { ios: "iOS", android: "Android", other: "Other", unknown: "Unknown" } as const

/** The device rows to show: `unknown` only when some taps are (rolled up before devices were recorded). */
const deviceRows = (devices: DeviceBreakdown) =>
  (Object.keys(DEVICE_LABEL) as Array<keyof typeof DEVICE_LABEL>)
    .filter((key) => key !== "unknown" || devices.unknown > 0)
    .map((key) => [DEVICE_LABEL[key], devices[key]] as const)
    .sort((a, b) => b[1] - a[1])

export const SummaryView = ({
  summary: s,
  series,
  devices = null,
  range,
  windowName
}: {
  readonly summary: Summary
  readonly series: typeof TimeSeries.Type | null
  /** An event's taps by device; null for campaigns and the organisation. */
  readonly devices?: DeviceBreakdown | null
  /** The range asked for, in seconds: the chart spans it even where it has no points. */
  readonly range?: readonly [number, number] | undefined
  readonly windowName: (id: string | null) => string
}) => (
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
    {series !== null && (
      <Chart
        title={`Taps per ${series.bucket} (${series.timezone})`}
        summary={`${series.points.length} ${series.bucket}s, ${s.totalTaps} taps in all`}
        // `start`, the bucket's instant: `at` is a wall-clock time in the event's zone, which the browser's
        // Date.parse would read in its own.
        x={series.points.map((p) => p.start.epochMillis / 1000)}
        ys={[series.points.map((p) => p.taps)]}
        series={[{ label: "Taps", color: "#0f7b6c" }]}
        xRange={range}
        timezone={series.timezone}
      />
    )}
    <div className="grid">
      <Breakdown title="By mode" rows={rowsOf(s.byMode)} />
      <Breakdown title="By redirect kind" rows={rowsOf(s.byKind)} />
      <Breakdown title="By window" rows={s.byWindow.map((w) => [windowName(w.windowId), w.taps] as const)} />
      {devices !== null && <Breakdown title="By device" rows={deviceRows(devices)} />}
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
)
