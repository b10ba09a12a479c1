import { useLayoutEffect, useRef } from "react"
import { formatIn, zonedToUtc } from "../time.js"
import type { Draft } from "./WindowsEditor.js"

/**
 * Hides the title of each bar too narrow to show it whole: a cut title ("Enc…", "He") reads as something
 * else. Every bar keeps its name (title and times) for screen readers and as a tooltip, and the legend under
 * the timeline lists every window, so a hidden title is still read.
 */
const fitLabels = (timeline: HTMLElement) => {
  for (const slot of timeline.querySelectorAll<HTMLElement>(".slot")) {
    const label = slot.querySelector<HTMLElement>(".slot-label")
    if (label === null) continue
    const style = getComputedStyle(slot)
    const room =
      slot.clientWidth - Number.parseFloat(style.paddingLeft) - Number.parseFloat(style.paddingRight)
    slot.dataset.fits = String(label.offsetWidth <= room)
  }
}

/** The windows drawn to scale between the first start and the last end, in the event's time zone. */
export const Timeline = ({
  drafts,
  problems,
  timezone
}: {
  readonly drafts: ReadonlyArray<Draft>
  readonly problems: ReadonlyArray<string | null>
  readonly timezone: string
}) => {
  const box = useRef<HTMLDivElement>(null)
  // After every render (titles and times change as they are typed) and on every resize (a phone turned).
  useLayoutEffect(() => {
    if (box.current !== null) fitLabels(box.current)
  })
  useLayoutEffect(() => {
    const element = box.current
    if (element === null) return
    const resize = new ResizeObserver(() => fitLabels(element))
    resize.observe(element)
    return () => resize.disconnect()
  }, [])

  const spans = drafts
    .map((draft, index) => ({
      draft,
      bad: problems[index] !== null,
      start: zonedToUtc(draft.start, timezone),
      end: zonedToUtc(draft.end, timezone)
    }))
    .filter((s) => !Number.isNaN(s.start) && !Number.isNaN(s.end) && s.start < s.end)
  if (spans.length === 0) return null
  const from = Math.min(...spans.map((s) => s.start))
  const to = Math.max(...spans.map((s) => s.end))
  const at = (ms: number) => `${((ms - from) / (to - from)) * 100}%`
  const sameDay = formatIn(from, timezone).split(",")[0] === formatIn(to, timezone).split(",")[0]
  const described = spans.map(({ draft, start, end }) => ({
    key: draft.key,
    label: draft.title || draft.type,
    times: `${formatIn(start, timezone)} – ${formatIn(end, timezone, !sameDay)}`
  }))

  return (
    <>
      {/* biome-ignore lint/a11y/useSemanticElements: a drawing's group of named bars, not a form's fieldset */}
      <div ref={box} className="timeline" role="group" aria-label={`Timeline of ${spans.length} windows`}>
        {spans.map(({ draft, start, end, bad }, index) => (
          <div
            key={draft.key}
            role="img"
            aria-label={`${described[index]!.label}: ${described[index]!.times}`}
            title={`${described[index]!.label}: ${described[index]!.times}`}
            className={`slot slot-${draft.type.toLowerCase()}${bad ? " slot-bad" : ""}`}
            style={{ left: at(start), width: `calc(${at(end)} - ${at(start)})` }}
          >
            <span className="slot-label">{described[index]!.label}</span>
          </div>
        ))}
        <span className="edge edge-from">{formatIn(from, timezone)}</span>
        <span className="edge edge-to">{formatIn(to, timezone)}</span>
      </div>
      <ol className="legend" aria-label="Windows on the timeline">
        {spans.map(({ draft }, index) => (
          <li key={draft.key}>
            <span className={`swatch slot-${draft.type.toLowerCase()}`} aria-hidden="true" />
            <strong>{described[index]!.label}</strong> {described[index]!.times}
          </li>
        ))}
      </ol>
    </>
  )
}
