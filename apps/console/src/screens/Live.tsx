import { EventId, type LiveCounts, type LiveTap, OrganizationId } from "@tapline/domain"
import { useEffect, useRef, useState } from "react"
import { call, endpointUrl } from "../api.js"
import { BASE, Link } from "../router.js"
import { useSession } from "../session.js"
import { formatIn } from "../time.js"
import { Chart } from "../ui/Chart.js"
import { ErrorNotice } from "../ui/Notice.js"
import { useLoad } from "../ui/useLoad.js"

/** Seconds on the chart, and latest taps in the list: both bounded, so hours of a busy show cost the same. */
const SECONDS = 120
const LATEST = 50

interface LiveState {
  /** Taps per second since the page opened; a second's count may be corrected by a later message. */
  readonly seconds: Map<number, number>
  x: ReadonlyArray<number>
  y: ReadonlyArray<number>
  total: number
  counts: LiveCounts | null
  latest: Array<LiveTap>
  problem: string | null
  connected: boolean
}

/**
 * An event as it happens, from the live stream (server-sent events, reconnecting by itself). Messages are
 * gathered as they arrive and drawn at most once per animation frame, so a burst costs one render.
 */
export const Live = ({ eventId }: { readonly eventId: string }) => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const event = useLoad(
    () => call((c) => c.events.get({ path: { organizationId, eventId: EventId.make(eventId) } })),
    [organizationId, eventId]
  )
  const state = useRef<LiveState>({
    seconds: new Map(),
    x: [],
    y: [],
    total: 0,
    counts: null,
    latest: [],
    problem: null,
    connected: false
  })
  const [, setFrame] = useState(0)

  useEffect(() => {
    const live = state.current
    let scheduled = 0
    const draw = () => {
      if (scheduled !== 0) return
      scheduled = requestAnimationFrame(() => {
        scheduled = 0
        // New arrays once per frame: the chart redraws when its data changes identity.
        const ordered = [...live.seconds.entries()].sort((a, b) => a[0] - b[0])
        live.x = ordered.map(([second]) => second)
        live.y = ordered.map(([, taps]) => taps)
        setFrame((n) => n + 1)
      })
    }
    const source = new EventSource(endpointUrl("live", "stream", { organizationId, eventId }))
    source.onopen = () => {
      live.connected = true
      live.problem = null
      draw()
    }
    source.onerror = () => {
      live.connected = false
      draw()
    }
    source.addEventListener("taps", (message) => {
      const { second, taps } = JSON.parse(message.data) as { second: number; taps: number }
      live.total += taps - (live.seconds.get(second) ?? 0)
      live.seconds.set(second, taps)
      for (const old of live.seconds.keys()) {
        if (old > second - SECONDS) break
        live.seconds.delete(old)
      }
      draw()
    })
    source.addEventListener("counts", (message) => {
      live.counts = JSON.parse(message.data) as LiveCounts
      live.problem = null
      draw()
    })
    source.addEventListener("tap", (message) => {
      live.latest.unshift(JSON.parse(message.data) as LiveTap)
      if (live.latest.length > LATEST) live.latest.length = LATEST
      draw()
    })
    source.addEventListener("unavailable", (message) => {
      live.problem = (JSON.parse(message.data) as { message: string }).message
      draw()
    })
    return () => {
      source.close()
      cancelAnimationFrame(scheduled)
    }
  }, [organizationId, eventId])

  const live = state.current
  const timezone = event.data?.timezone ?? "UTC"
  const lastSecond = live.y.at(-1) ?? 0
  return (
    <section aria-labelledby="live-heading">
      <p>
        <Link to={`${BASE}/events/${eventId}`}>← {event.data?.name ?? "Event"}</Link>
      </p>
      <h1 id="live-heading">Live: {event.data?.name ?? "…"}</h1>
      <ErrorNotice error={event.error ?? live.problem} />
      <p role="status" className="muted">
        {live.connected ? "Connected: updates every second." : "Connecting…"}
      </p>
      <dl className="counters">
        <div>
          <dt>Taps since you opened this page</dt>
          <dd data-testid="live-total">{live.total}</dd>
        </div>
        <div>
          <dt>Last second</dt>
          <dd data-testid="live-second">{lastSecond}</dd>
        </div>
        <div>
          <dt>This minute</dt>
          <dd>{live.counts?.taps ?? 0}</dd>
        </div>
        {(["PRE", "LIVE", "POST"] as const).map((mode) => (
          <div key={mode}>
            <dt>{mode} this minute</dt>
            <dd data-testid={`live-mode-${mode}`}>{live.counts?.byMode[mode] ?? 0}</dd>
          </div>
        ))}
        <div>
          <dt>Unique bands</dt>
          <dd>{live.counts?.uniqueBands ?? 0}</dd>
        </div>
      </dl>
      <Chart
        title="Taps per second"
        summary={`${lastSecond} taps in the last second, ${live.total} since the page opened`}
        x={live.x}
        ys={[live.y]}
        series={[{ label: "Taps", color: "#0f7b6c" }]}
        timezone={timezone}
        bars
      />
      <h2>Latest taps</h2>
      {live.latest.length === 0 ? (
        <p>No taps yet.</p>
      ) : (
        <table aria-label="Latest taps">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Band</th>
              <th scope="col">Mode</th>
              <th scope="col">Redirect</th>
            </tr>
          </thead>
          <tbody>
            {live.latest.map((tap) => (
              <tr key={tap.id}>
                <td>{formatIn(tap.at, timezone, false)}</td>
                <td>
                  <code>{tap.bandUid}</code>
                </td>
                <td>{tap.mode ?? "—"}</td>
                <td>{tap.kind}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
