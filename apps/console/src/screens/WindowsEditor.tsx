import type { EventId, HttpUrl, OrganizationId, WindowType } from "@tapline/domain"
import { DateTime } from "effect"
import { useEffect, useState } from "react"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { formatIn, utcToZoned, zonedToUtc } from "../time.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"

interface Draft {
  readonly key: number
  readonly type: WindowType
  readonly title: string
  readonly url: string
  /** `datetime-local` values in the event's time zone. */
  readonly start: string
  readonly end: string
}

const TYPES: ReadonlyArray<WindowType> = ["PRE", "LIVE", "POST"]
let nextKey = 1

/** What is wrong with each draft before it is sent: bad times, and the windows it overlaps. */
export const problemsOf = (drafts: ReadonlyArray<Draft>, timezone: string) => {
  const spans = drafts.map((d) => ({
    start: zonedToUtc(d.start, timezone),
    end: zonedToUtc(d.end, timezone)
  }))
  return drafts.map((_, i) => {
    const span = spans[i]!
    if (Number.isNaN(span.start) || Number.isNaN(span.end)) return "needs a start and an end"
    if (span.start >= span.end) return "ends before it starts"
    const overlapping = drafts.filter((_, j) => {
      const other = spans[j]!
      return j !== i && span.start < other.end && other.start < span.end
    })
    return overlapping.length === 0
      ? null
      : `overlaps ${overlapping.map((o) => o.title || o.type).join(", ")}`
  })
}

/**
 * The event's windows on a timeline, edited in the event's time zone. Overlaps and bad times are shown as
 * they are typed; Save replaces the whole set in one transaction (the API refuses overlaps too).
 */
export const WindowsEditor = ({
  organizationId,
  eventId,
  timezone
}: {
  readonly organizationId: OrganizationId
  readonly eventId: EventId
  readonly timezone: string
}) => {
  const session = useSession()
  const editable = can(session, "EDITOR")
  const saved = useLoad(
    () =>
      call((client) => client.windows.list({ path: { organizationId, eventId }, urlParams: { limit: 500 } })),
    [organizationId, eventId]
  )
  const [drafts, setDrafts] = useState<ReadonlyArray<Draft> | null>(null)
  const { error, run } = useAction()
  const [notice, setNotice] = useState<string | null>(null)

  useEffect(() => {
    if (saved.data === null) return
    setDrafts(
      saved.data.items.map((w) => ({
        key: nextKey++,
        type: w.type,
        title: w.title,
        url: w.url,
        start: utcToZoned(w.startsAt.epochMillis, timezone),
        end: utcToZoned(w.endsAt.epochMillis, timezone)
      }))
    )
  }, [saved.data, timezone])

  if (drafts === null)
    return saved.error === null ? <Loading what="windows" /> : <ErrorNotice error={saved.error} />
  const problems = problemsOf(drafts, timezone)
  const change = (key: number, patch: Partial<Draft>) => {
    setNotice(null)
    setDrafts(drafts.map((d) => (d.key === key ? { ...d, ...patch } : d)))
  }
  const add = () => {
    const last = drafts.at(-1)
    const start = last?.end ?? utcToZoned(Date.now(), timezone)
    const end = utcToZoned(zonedToUtc(start, timezone) + 3_600_000, timezone)
    setDrafts([...drafts, { key: nextKey++, type: "LIVE", title: "", url: "https://", start, end }])
  }
  const save = () => {
    const windows = drafts.map((d) => ({
      type: d.type,
      title: d.title,
      url: d.url as HttpUrl,
      startsAt: DateTime.unsafeMake(zonedToUtc(d.start, timezone)),
      endsAt: DateTime.unsafeMake(zonedToUtc(d.end, timezone))
    }))
    run(
      () =>
        call((client) => client.windows.replace({ path: { organizationId, eventId }, payload: { windows } })),
      () => {
        setNotice("Windows saved.")
        saved.reload()
      }
    )
  }

  const spans = drafts
    .map((d) => ({ draft: d, start: zonedToUtc(d.start, timezone), end: zonedToUtc(d.end, timezone) }))
    .filter((s) => !Number.isNaN(s.start) && !Number.isNaN(s.end) && s.start < s.end)
  const from = Math.min(...spans.map((s) => s.start))
  const to = Math.max(...spans.map((s) => s.end))
  const at = (ms: number) => `${((ms - from) / (to - from)) * 100}%`

  return (
    <section aria-labelledby="windows-heading">
      <h2 id="windows-heading">Windows</h2>
      <p className="muted">Times in {timezone}.</p>
      <ErrorNotice error={error} />
      {notice !== null && <p role="status">{notice}</p>}
      {spans.length > 0 && (
        <div className="timeline" role="img" aria-label={`Timeline of ${spans.length} windows`}>
          {spans.map(({ draft, start, end }) => (
            <div
              key={draft.key}
              className={`slot slot-${draft.type.toLowerCase()}${problems[drafts.indexOf(draft)] === null ? "" : " slot-bad"}`}
              style={{ left: at(start), width: `calc(${at(end)} - ${at(start)})` }}
              title={`${draft.title || draft.type}: ${formatIn(start, timezone)} – ${formatIn(end, timezone)}`}
            >
              {draft.title || draft.type}
            </div>
          ))}
          <span className="edge edge-from">{formatIn(from, timezone)}</span>
          <span className="edge edge-to">{formatIn(to, timezone)}</span>
        </div>
      )}
      {drafts.length === 0 && <p>No windows: taps go to the event's fallback, then the organisation's.</p>}
      {drafts.map((d, i) => (
        <fieldset key={d.key} className="window" disabled={!editable} aria-invalid={problems[i] !== null}>
          <legend>{d.title || `Window ${i + 1}`}</legend>
          <label>
            Type{" "}
            <select value={d.type} onChange={(e) => change(d.key, { type: e.target.value as WindowType })}>
              {TYPES.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          </label>
          <label>
            Title{" "}
            <input
              value={d.title}
              maxLength={200}
              onChange={(e) => change(d.key, { title: e.target.value })}
            />
          </label>
          <label>
            Destination{" "}
            <input type="url" value={d.url} onChange={(e) => change(d.key, { url: e.target.value })} />
          </label>
          <label>
            Starts{" "}
            <input
              type="datetime-local"
              value={d.start}
              onChange={(e) => change(d.key, { start: e.target.value })}
            />
          </label>
          <label>
            Ends{" "}
            <input
              type="datetime-local"
              value={d.end}
              onChange={(e) => change(d.key, { end: e.target.value })}
            />
          </label>
          {editable && (
            <button
              type="button"
              className="quiet"
              onClick={() => setDrafts(drafts.filter((x) => x.key !== d.key))}
            >
              Remove
            </button>
          )}
          {problems[i] !== null && <p className="problem">This window {problems[i]}.</p>}
        </fieldset>
      ))}
      {editable && (
        <div className="actions">
          <button type="button" className="quiet" onClick={add}>
            Add window
          </button>
          <button type="button" onClick={save} disabled={problems.some((p) => p !== null)}>
            Save windows
          </button>
        </div>
      )}
    </section>
  )
}
