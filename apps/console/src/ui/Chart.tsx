import { useEffect, useRef } from "react"
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"

export interface Series {
  readonly label: string
  readonly color: string
}

/**
 * A time-series chart on uPlot (about 20 kB gzipped, canvas: thousands of points without a DOM node each).
 * `x` is in seconds; one `ys` array per series. The figure's caption and `summary` say in words what it shows
 * for screen readers.
 */
export const Chart = ({
  title,
  summary,
  x,
  ys,
  series,
  height = 220,
  bars = false,
  xRange
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
  }, [series.map((s) => s.label).join(), height, bars, xRange?.[0], xRange?.[1]])

  useEffect(() => {
    plot.current?.setData([x as Array<number>, ...(ys as Array<Array<number>>)])
  }, [x, ys])

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  )
}
