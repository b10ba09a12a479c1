import { useEffect, useRef } from "react"
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import { axisLabels } from "../time.js"

const MINUTE = 60
const HOUR = 3600
/** The steps ticks may take, in seconds: never less than a minute. */
const TICK_STEPS = [
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  4 * HOUR,
  6 * HOUR,
  12 * HOUR,
  24 * HOUR,
  2 * 24 * HOUR,
  7 * 24 * HOUR,
  14 * 24 * HOUR,
  28 * 24 * HOUR
]

export interface Series {
  readonly label: string
  readonly color: string
}

/**
 * A time-series chart on uPlot (about 20 kB gzipped, canvas: thousands of points without a DOM node each).
 * `x` is in seconds; one `ys` array per series. The figure's caption and `summary` say in words what it shows
 * for screen readers. Times on the axis are the event's (`timezone`), in hours and minutes: ticks are at least a
 * minute apart, so a chart of seconds still reads "20:15".
 */
export const Chart = ({
  title,
  summary,
  x,
  ys,
  series,
  height = 220,
  bars = false,
  xRange,
  timezone
}: {
  readonly title: string
  readonly summary: string
  readonly x: ReadonlyArray<number>
  readonly ys: ReadonlyArray<ReadonlyArray<number>>
  readonly series: ReadonlyArray<Series>
  readonly height?: number
  readonly bars?: boolean
  /** The x axis's span in seconds; without it uPlot fits the data (one point would span years). */
  readonly xRange?: readonly [number, number] | undefined
  /** The IANA zone the axis reads in: the event's, not the browser's. */
  readonly timezone: string
}) => {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)

  // biome-ignore lint/correctness/useExhaustiveDependencies: the chart is rebuilt only when its series change
  useEffect(() => {
    const element = box.current
    if (element === null) return
    const made = new uPlot(
      {
        width: element.clientWidth || 600,
        height,
        legend: { show: series.length > 1 },
        scales: { x: xRange === undefined ? { time: true } : { time: true, range: () => [...xRange] } },
        // Ticks fall on the zone's whole minutes and hours; their labels are written in it too.
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), timezone),
        axes: [
          {
            incrs: TICK_STEPS,
            space: 56,
            values: (u, splits, _axis, _space, step) => {
              const span = (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0)
              const labels = axisLabels(splits, step, span, timezone)
              // The labels drawn, on the element: the canvas cannot be read by tests and tools.
              element.dataset.xTicks = JSON.stringify(splits.map((s, i) => [s, labels[i]]))
              return labels
            }
          },
          {}
        ],
        // The x span shown, on the element: what the chart covers, for tests and tools that cannot read a canvas.
        hooks: {
          setScale: [
            (u: uPlot, key: string) => {
              if (key === "x") element.dataset.xSpan = `${u.scales.x?.min ?? ""},${u.scales.x?.max ?? ""}`
            }
          ]
        },
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            fill: `${s.color}33`,
            width: 2,
            ...(bars && uPlot.paths.bars !== undefined
              ? { paths: uPlot.paths.bars({ size: [0.8, 40] }) }
              : {})
          }))
        ]
      },
      [x as Array<number>, ...(ys as Array<Array<number>>)],
      element
    )
    plot.current = made
    const resize = new ResizeObserver(() => made.setSize({ width: element.clientWidth || 600, height }))
    resize.observe(element)
    return () => {
      resize.disconnect()
      made.destroy()
      plot.current = null
    }
  }, [series.map((s) => s.label).join(), height, bars, xRange?.[0], xRange?.[1], timezone])

  useEffect(() => {
    plot.current?.setData([x as Array<number>, ...(ys as Array<Array<number>>)])
    // The x values drawn, on the element, as the span is: for tests and tools that cannot read a canvas.
    if (box.current !== null) box.current.dataset.x = x.join(",")
  }, [x, ys])

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  )
}
