import {
  type EventId,
  type HttpUrl,
  normalizeHttpUrl,
  type OrganizationId,
  type WindowDestination,
  type WindowType
} from "@tapline/domain"
import { DateTime } from "effect"
import { useEffect, useMemo, useState } from "react"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { utcToZoned, zonedToUtc } from "../time.js"
import { Field } from "../ui/Field.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useForm } from "../ui/useForm.js"
import { useLoad } from "../ui/useLoad.js"
import { Timeline } from "./WindowsTimeline.js"

export interface Draft {
  readonly key: number
  readonly type: WindowType
  readonly title: string
  readonly url: string
  /** Where taps go: the URL, or the registration page Tapline hosts (which then links to the URL). */
  readonly destination: WindowDestination
  /** `datetime-local` values in the event's time zone. */
  readonly start: string
  readonly end: string
}

const TYPES: ReadonlyArray<WindowType> = ["PRE", "LIVE", "POST"]
const DESTINATIONS: ReadonlyArray<readonly [WindowDestination, string]> = [
  ["URL", "The destination below"],
  ["REGISTRATION_PAGE", "The registration page"]
]
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
 * The message under a window's start or end: a missing time under the field that lacks it, a wrong order under
 * the end. Overlaps concern the whole window and are said under it.
 */
const timeProblem = (draft: Draft, problem: string | null, edge: "start" | "end") => {
  if (problem === "ends before it starts")
    return edge === "end" ? "This window ends before it starts." : undefined
  if (problem !== "needs a start and an end") return undefined
  return /^\d{4}-/.test(draft[edge]) ? undefined : `Enter when the window ${edge}s.`
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
  const count = drafts?.length ?? 0
  // One message per window's destination, by the field's id: the editor checks them before sending.
  const messages = useMemo(
    () =>
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [
          `window-${i + 1}-url`,
          "Enter an address starting with https:// or http://."
        ])
      ),
    [count]
  )
  const form = useForm(messages)
  const [notice, setNotice] = useState<string | null>(null)

  useEffect(() => {
    if (saved.data === null) return
    setDrafts(
      saved.data.items.map((w) => ({
        key: nextKey++,
        type: w.type,
        title: w.title,
        url: w.url,
        destination: w.destination,
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
    setDrafts([
      ...drafts,
      { key: nextKey++, type: "LIVE", title: "", url: "https://", destination: "URL", start, end }
    ])
  }
  const save = () => {
    form.check()
    const refused = drafts.flatMap((d, i) =>
      normalizeHttpUrl(d.url) === null ? [`window-${i + 1}-url`] : []
    )
    if (refused.length > 0) {
      for (const field of refused) form.refuse(field)
      return
    }
    const windows = drafts.map((d) => ({
      type: d.type,
      title: d.title,
      url: d.url as HttpUrl,
      destination: d.destination,
      startsAt: DateTime.unsafeMake(zonedToUtc(d.start, timezone)),
      endsAt: DateTime.unsafeMake(zonedToUtc(d.end, timezone))
    }))
    form.submit(
      () =>
        call((client) => client.windows.replace({ path: { organizationId, eventId }, payload: { windows } })),
      () => {
        setNotice("Windows saved.")
        saved.reload()
      }
    )
  }

  return (
    <section aria-labelledby="windows-heading">
      <h2 id="windows-heading">Windows</h2>
      <p className="muted">Times in {timezone}.</p>
      <ErrorNotice error={form.error} />
      {notice !== null && <p role="status">{notice}</p>}
      <Timeline drafts={drafts} problems={problems} timezone={timezone} />
      {drafts.length === 0 && <p>No windows: taps go to the event's fallback, then the organisation's.</p>}
      {drafts.map((d, i) => (
        <fieldset key={d.key} className="window" disabled={!editable} aria-invalid={problems[i] !== null}>
          <legend>{d.title || `Window ${i + 1}`}</legend>
          <Field id={`window-${i + 1}-type`} label="Type" error={undefined}>
            {(control) => (
              <select
                {...control}
                value={d.type}
                onChange={(e) => change(d.key, { type: e.target.value as WindowType })}
              >
                {TYPES.map((t) => (
                  <option key={t}>{t}</option>
                ))}
              </select>
            )}
          </Field>
          <Field id={`window-${i + 1}-title`} label="Title" error={undefined}>
            {(control) => (
              <input
                {...control}
                value={d.title}
                maxLength={200}
                onChange={(e) => change(d.key, { title: e.target.value })}
              />
            )}
          </Field>
          <Field id={`window-${i + 1}-sends`} label="Taps go to" error={undefined}>
            {(control) => (
              <select
                {...control}
                value={d.destination}
                onChange={(e) => change(d.key, { destination: e.target.value as WindowDestination })}
              >
                {DESTINATIONS.map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field
            id={`window-${i + 1}-url`}
            label={d.destination === "URL" ? "Destination" : "After registering, continue to"}
            hint={
              d.destination === "URL"
                ? undefined
                : "The page is Tapline's, in your organisation's colours; it links here once the band is registered."
            }
            error={form.fields[`window-${i + 1}-url`]}
          >
            {(control) => (
              <input
                {...control}
                type="url"
                value={d.url}
                onChange={(e) => change(d.key, { url: e.target.value })}
              />
            )}
          </Field>
          {(["start", "end"] as const).map((edge) => (
            <Field
              key={edge}
              id={`window-${i + 1}-${edge}`}
              label={edge === "start" ? "Starts" : "Ends"}
              error={timeProblem(d, problems[i] ?? null, edge)}
            >
              {(control) => (
                <input
                  {...control}
                  type="datetime-local"
                  value={d[edge]}
                  onChange={(e) => change(d.key, { [edge]: e.target.value })}
                />
              )}
            </Field>
          ))}
          {editable && (
            <button
              type="button"
              className="quiet"
              onClick={() => setDrafts(drafts.filter((x) => x.key !== d.key))}
            >
              Remove
            </button>
          )}
          {problems[i]?.startsWith("overlaps") === true && (
            <p className="problem">This window {problems[i]}.</p>
          )}
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
