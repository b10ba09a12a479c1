import { EventId, type OrganizationId } from "@tapline/domain"
import type { DateTime } from "effect"
import { useState } from "react"
import { call } from "../api.js"
import { formatIn } from "../time.js"
import { ErrorNotice } from "../ui/Notice.js"
import { useLoad } from "../ui/useLoad.js"
import { percent } from "./AnalyticsSummary.js"

/** The busiest minute, at its time in the event's own zone ("42 at Jul 4, 20:15"). */
const peak = (minute: { readonly at: DateTime.Utc; readonly taps: number } | null, timezone = "UTC") =>
  minute === null ? "—" : `${minute.taps} at ${formatIn(minute.at.epochMillis, timezone)}`

/** Up to 20 events side by side over the chosen range. */
export const CompareEvents = ({
  organizationId,
  events,
  from
}: {
  readonly organizationId: OrganizationId
  readonly events: ReadonlyArray<{ readonly id: string; readonly name: string; readonly timezone: string }>
  readonly from: DateTime.Utc | undefined
}) => {
  const [compared, setCompared] = useState<ReadonlyArray<string>>([])
  const comparison = useLoad(
    () =>
      compared.length === 0
        ? Promise.resolve([])
        : call((c) =>
            c.analytics.compare({
              path: { organizationId },
              urlParams: { from, eventIds: compared.map((id) => EventId.make(id)) }
            })
          ),
    [organizationId, compared, from?.epochMillis]
  )
  return (
    <>
      <h2>Compare events</h2>
      <fieldset className="checks">
        <legend>Events to compare (up to 20)</legend>
        {events.map((e) => (
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
                <td>{peak(row.summary.peakMinute, events.find((e) => e.id === row.eventId)?.timezone)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  )
}
